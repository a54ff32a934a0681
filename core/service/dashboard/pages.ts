/**
 * The dashboard's pages, rendered on the server from the same reads the JSON API answers with. Every
 * value goes through `html` (escaped); the actions are buttons whose `data-` attributes name a JSON
 * route, posted by assets/dashboard.js.
 */
import type { SyncIssue } from '../../run/sync-issues.js';
import type { SyncStatus } from '../../run/status.js';
import type { SyncConfig } from '../../config/types.js';
import { FAILED_ROW_STATUSES } from '../../run/manual-retry.js';
import { html, jsonScript, query, type Html } from './html.js';
import type { ChangelogRow, EventRow, FailedRowCounts, FailedRowFilter, FailedRowView, OpCount, Page, RunRow } from './queries.js';

export type SyncOverview = SyncStatus & { running: boolean };

export interface RunErrorView {
  error_code: string;
  rows: number;
  message: string;
  remediation: string | null;
}

function layout(title: string, body: Html, options: { scripts?: string[]; styles?: string[] } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · hightouch-like</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${(options.styles ?? []).map((href) => html`<link rel="stylesheet" href="${href}">`)}
<script src="/assets/dashboard.js" defer></script>
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</head>
<body>
<header><a class="brand" href="/">hightouch-like</a>
<nav><a href="/">Syncs</a><a href="/failed-rows">Failed rows</a><a href="/issues">Issues</a></nav></header>
<main>
<h1>${title}</h1>
<div id="flash" role="status" aria-live="polite"></div>
${body}
</main>
</body>
</html>`;
}

/** A button that POSTs `body` as JSON to `url` (assets/dashboard.js), then reloads the page. */
function action(label: string, url: string, body: unknown, options: { confirm?: string; id?: string } = {}): Html {
  return html`<button type="button" class="action"${options.id ? html` id="${options.id}"` : ''} data-url="${url}" data-body="${JSON.stringify(body)}"${
    options.confirm ? html` data-confirm="${options.confirm}"` : ''
  }>${label}</button>`;
}

const syncUrl = (sync: string) => `/syncs/${encodeURIComponent(sync)}`;
const runUrl = (run: string) => `/runs/${encodeURIComponent(run)}`;
const apiSync = (sync: string, verb: string) => `/api/syncs/${encodeURIComponent(sync)}/${verb}`;

function badge(state: string): Html {
  return html`<span class="badge badge-${state}">${state}</span>`;
}

function time(value: string | null): Html {
  if (!value) return html`<span class="muted">—</span>`;
  const iso = new Date(value).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')}</time>`;
}

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function nextLink(base: string, params: Record<string, string | undefined>, next: string | null, param = 'after'): Html {
  return next === null
    ? html`<p class="muted">End of list.</p>`
    : html`<p><a class="next" href="${base}${query({ ...params, [param]: next })}">Next page →</a></p>`;
}

function pauseButton(sync: string, health: string): Html {
  return health === 'paused'
    ? action('Resume', apiSync(sync, 'resume'), {}, { id: `resume-${sync}` })
    : action('Pause', apiSync(sync, 'pause'), { reason: 'paused from the dashboard' }, { id: `pause-${sync}` });
}

export function syncsPage(syncs: SyncOverview[], counts: Map<string, FailedRowCounts>, apiCalls: Map<string, number>): Html {
  const rows = syncs.map((s) => {
    const c = counts.get(s.sync) ?? { retrying: 0, blocked: 0, timeout_queue: 0 };
    return html`<tr data-sync="${s.sync}">
<td><a href="${syncUrl(s.sync)}">${s.sync}</a><div class="muted">${s.model} → ${s.destination} (${s.mode})</div></td>
<td>${badge(s.health)}${s.health_reason ? html`<div class="muted">${s.health_reason}</div>` : ''}</td>
<td>${s.schedule}<div class="muted">next: ${s.running ? 'running now' : time(s.next_run_at)}</div></td>
<td>${s.last_run_id ? html`<a href="${runUrl(s.last_run_id)}">${s.last_status}</a><div class="muted">${time(s.last_started_at)}</div>` : html`<span class="muted">never run</span>`}</td>
<td class="num">${s.synced_rows}</td>
<td class="num">${s.failed_rows === 0 ? '0' : html`<a href="/failed-rows${query({ sync: s.sync })}">${c.retrying + c.timeout_queue}</a>`}</td>
<td class="num">${c.blocked === 0 ? '0' : html`<a href="/failed-rows${query({ sync: s.sync, status: 'blocked' })}">${c.blocked}</a>`}</td>
<td class="num">${apiCalls.get(s.sync) ?? '—'}</td>
<td class="actions">${action('Run now', apiSync(s.sync, 'trigger'), {}, { id: `run-${s.sync}` })}${pauseButton(s.sync, s.health)}</td>
</tr>`;
  });
  return layout(
    'Syncs',
    html`<table class="grid" id="syncs">
<thead><tr><th>sync</th><th>health</th><th>schedule</th><th>last run</th><th class="num">rows synced</th><th class="num">failing</th><th class="num">blocked</th><th class="num">API calls (last run)</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

export interface SyncPageData {
  sync: SyncConfig;
  status: SyncOverview;
  runs: Page<RunRow>;
  events: Page<EventRow>;
  params: { after?: string; events_after?: string };
}

export function syncPage({ sync, status, runs, events, params }: SyncPageData): Html {
  // Oldest first on the chart: time runs left to right.
  const chart = [...runs.rows].reverse().map((r) => ({
    t: Math.floor(Date.parse(r.started_at) / 1000),
    succeeded: r.rows_succeeded,
    failed: r.rows_failed,
    invalid: r.rows_invalid,
    duration_s: r.duration_ms === null ? null : r.duration_ms / 1000,
  }));
  const base = syncUrl(sync.name);
  return layout(
    `Sync ${sync.name}`,
    html`<section class="summary">
<p>${badge(status.health)} ${status.health_reason ?? ''} ${status.health_since ? html`<span class="muted">since ${time(status.health_since)}</span>` : ''}</p>
<p>${sync.model} → ${sync.destination} (${sync.mode}) · ${status.schedule} · next run ${status.running ? 'running now' : time(status.next_run_at)}</p>
<p class="actions">${action('Run now', apiSync(sync.name, 'trigger'), {}, { id: 'run-now' })}${pauseButton(sync.name, status.health)}${action(
      'Retry the timeout queue',
      apiSync(sync.name, 'retry'),
      { status: 'timeout_queue' },
      { id: 'retry-timeout-queue' },
    )}${action('Unblock all blocked rows', apiSync(sync.name, 'unblock'), {}, { id: 'unblock-all', confirm: 'Send every blocked row again?' })}
<a href="/failed-rows${query({ sync: sync.name })}">Failed rows (${status.failed_rows})</a> · <a href="/issues${query({ sync: sync.name })}">Issues</a></p>
</section>
<h2>Runs</h2>
<div id="run-chart" class="chart"></div>
${jsonScript('run-data', chart)}
<table class="grid" id="runs">
<thead><tr><th>run</th><th>status</th><th>started</th><th class="num">duration</th><th class="num">planned</th><th class="num">succeeded</th><th class="num">failed</th><th class="num">invalid</th><th class="num">API calls</th><th>error</th></tr></thead>
<tbody>${runs.rows.map(
      (r) =>
        html`<tr><td><a href="${runUrl(r.run_id)}">${r.run_id}</a></td><td>${badge(r.status)}</td><td>${time(r.started_at)}</td><td class="num">${duration(
          r.duration_ms,
        )}</td><td class="num">${r.rows_planned}</td><td class="num">${r.rows_succeeded}</td><td class="num">${r.rows_failed}</td><td class="num">${r.rows_invalid}</td><td class="num">${
          r.api_calls
        }</td><td class="error">${r.error ?? ''}</td></tr>`,
    )}</tbody></table>
${nextLink(base, { events_after: params.events_after }, runs.next)}
<h2>Mapping</h2>
<table class="grid" id="mapping"><thead><tr><th>destination field</th><th>model column</th></tr></thead>
<tbody><tr><td>${sync.primary_key} <span class="muted">(primary key)</span></td><td>${sync.primary_key}</td></tr>${Object.entries(
      sync.mapping,
    ).map(([field, column]) => html`<tr><td>${field}</td><td>${column}</td></tr>`)}</tbody></table>
<h2>Events</h2>
<table class="grid" id="events"><thead><tr><th>at</th><th>action</th><th>from</th><th>to</th><th>reason</th><th>run</th></tr></thead>
<tbody>${events.rows.map(
      (e) =>
        html`<tr><td>${time(e.at)}</td><td>${e.action ?? ''}</td><td>${e.from_state ? badge(e.from_state) : ''}</td><td>${badge(e.to_state)}</td><td>${e.reason ?? ''}</td><td>${
          e.run_id ? html`<a href="${runUrl(e.run_id)}">${e.run_id}</a>` : ''
        }</td></tr>`,
    )}</tbody></table>
${nextLink(base, { after: params.after }, events.next, 'events_after')}`,
    { scripts: ['/assets/uplot.js'], styles: ['/assets/uplot.css'] },
  );
}

export function runPage(run: RunRow, ops: OpCount[], errors: RunErrorView[], changelog: Page<ChangelogRow>): Html {
  return layout(
    `Run ${run.run_id}`,
    html`<section class="summary">
<p>${badge(run.status)} sync <a href="${syncUrl(run.sync_name)}">${run.sync_name}</a> · started ${time(run.started_at)} · ${duration(run.duration_ms)} · ${run.api_calls} API calls</p>
${run.error ? html`<p class="error">${run.error}</p>` : ''}
<p>planned ${run.rows_planned} · succeeded ${run.rows_succeeded} · failed ${run.rows_failed} · invalid ${run.rows_invalid}</p>
</section>
<h2>By operation</h2>
<table class="grid" id="ops"><thead><tr><th>operation</th><th>outcome</th><th class="num">rows</th></tr></thead>
<tbody>${ops.map((o) => html`<tr><td>${o.op}</td><td>${o.status}</td><td class="num">${o.rows}</td></tr>`)}</tbody></table>
<h2>Errors by code</h2>
<table class="grid" id="errors"><thead><tr><th>code</th><th class="num">rows</th><th>message (one of them)</th><th>what to do</th><th></th></tr></thead>
<tbody>${errors.map(
      (e) =>
        html`<tr><td><a href="/failed-rows${query({ sync: run.sync_name, error_code: e.error_code })}">${e.error_code}</a></td><td class="num">${e.rows}</td><td class="error">${
          e.message
        }</td><td>${e.remediation ?? ''}</td><td>${action('Retry', apiSync(run.sync_name, 'retry'), { error_code: e.error_code })}</td></tr>`,
    )}</tbody></table>
<h2>Changelog</h2>
<table class="grid" id="changelog"><thead><tr><th>key</th><th>operation</th><th>outcome</th><th>code</th><th>message</th><th>at</th></tr></thead>
<tbody>${changelog.rows.map(
      (c) =>
        html`<tr><td>${c.primary_key}</td><td>${c.op}</td><td>${c.status}</td><td>${c.error_code ?? ''}</td><td class="error">${c.error_message ?? ''}</td><td>${time(c.at)}</td></tr>`,
    )}</tbody></table>
${nextLink(runUrl(run.run_id), {}, changelog.next)}`,
  );
}

function select(name: string, choices: string[], chosen: string | undefined, all: string): Html {
  return html`<select name="${name}" id="filter-${name}"><option value="">${all}</option>${choices.map(
    (c) => html`<option value="${c}"${c === chosen ? html` selected` : ''}>${c}</option>`,
  )}</select>`;
}

export function failedRowsPage(filter: FailedRowFilter, syncs: string[], codes: string[], page: Page<FailedRowView>): Html {
  const params = { sync: filter.sync, status: filter.status, error_code: filter.errorCode, key: filter.key };
  const bulk: Html[] = [];
  if (filter.sync !== undefined) {
    if (filter.errorCode !== undefined)
      bulk.push(
        action(
          `Retry every ${filter.errorCode} row`,
          apiSync(filter.sync, 'retry'),
          { error_code: filter.errorCode },
          { id: 'retry-code' },
        ),
      );
    bulk.push(action('Retry the timeout queue', apiSync(filter.sync, 'retry'), { status: 'timeout_queue' }, { id: 'retry-timeout-queue' }));
    bulk.push(
      action('Unblock', apiSync(filter.sync, 'unblock'), filter.errorCode === undefined ? {} : { error_code: filter.errorCode }, {
        id: 'unblock',
        confirm: 'Send the blocked rows again?',
      }),
    );
  }
  return layout(
    'Failed rows',
    html`<form method="get" action="/failed-rows" class="filters" id="filters">
<label>sync ${select('sync', syncs, filter.sync, 'all syncs')}</label>
<label>status ${select('status', [...FAILED_ROW_STATUSES], filter.status, 'any status')}</label>
<label>error code ${select('error_code', codes, filter.errorCode, 'any code')}</label>
<label>key starts with <input name="key" id="filter-key" value="${filter.key ?? ''}"></label>
<button type="submit" id="apply-filters">Filter</button>
</form>
<p class="actions"><button type="button" id="retry-selected" data-retry-selected>Retry selected rows</button>${bulk}${
      filter.sync === undefined ? html`<span class="muted">Choose a sync for bulk retries.</span>` : ''
    }</p>
<table class="grid" id="failed-rows">
<thead><tr><th><input type="checkbox" id="select-all" aria-label="select all"></th><th>sync</th><th>key</th><th>status</th><th>code</th><th>error</th><th class="num">attempts</th><th class="num">tries</th><th>next retry</th><th>what to do</th><th>destination id</th><th>run</th></tr></thead>
<tbody>${page.rows.map(
      (r) =>
        html`<tr data-key="${r.primary_key}" data-sync="${r.sync_name}"><td><input type="checkbox" class="row-select" data-sync="${r.sync_name}" value="${
          r.primary_key
        }" aria-label="select"></td><td><a href="${syncUrl(r.sync_name)}">${r.sync_name}</a></td><td class="key">${r.primary_key}</td><td>${badge(r.status)}</td><td>${r.error_code} <span class="muted">${
          r.error_class
        }</span></td><td class="error">${r.error_message}</td><td class="num">${r.attempts}</td><td class="num">${r.tries ?? ''}</td><td>${
          r.status === 'blocked' ? html`<span class="muted">after a change</span>` : time(r.next_retry_at)
        }</td><td>${r.remediation ?? ''}</td><td>${r.destination_id ?? ''}</td><td><a href="${runUrl(r.run_id)}">${r.run_id}</a></td></tr>`,
    )}</tbody></table>
${page.rows.length === 0 ? html`<p id="no-rows">No failed row matches.</p>` : ''}
${nextLink('/failed-rows', params, page.next)}`,
  );
}

export function issuesPage(issues: SyncIssue[], sync: string | undefined): Html {
  return layout(
    sync === undefined ? 'Issues' : `Issues of ${sync}`,
    html`<table class="grid" id="issues">
<thead><tr><th>sync</th><th>code</th><th class="num">rows</th><th class="num">retrying</th><th class="num">blocked</th><th class="num">timeout queue</th><th>first seen</th><th>last seen</th><th>last message</th><th>what to do</th><th>sample keys</th><th></th></tr></thead>
<tbody>${issues.map(
      (i) =>
        html`<tr><td><a href="${syncUrl(i.sync)}">${i.sync}</a></td><td><a href="/failed-rows${query({ sync: i.sync, error_code: i.error_code })}">${i.error_code}</a> <span class="muted">${
          i.error_class
        }</span></td><td class="num">${i.rows}</td><td class="num">${i.retrying}</td><td class="num">${i.blocked}</td><td class="num">${i.timeout_queue}</td><td>${time(
          i.first_seen,
        )}</td><td>${time(i.last_seen)}</td><td class="error">${i.last_message}</td><td>${i.remediation ?? ''}</td><td class="key">${i.sample_keys.join(', ')}${
          i.sample_destination_ids.length ? html`<div class="muted">${i.sample_destination_ids.join(', ')}</div>` : ''
        }</td><td>${action('Retry', apiSync(i.sync, 'retry'), { error_code: i.error_code })}${
          i.blocked > 0 ? action('Unblock', apiSync(i.sync, 'unblock'), { error_code: i.error_code }) : ''
        }</td></tr>`,
    )}</tbody></table>
${issues.length === 0 ? html`<p>No issues: the failed-row index is empty.</p>` : ''}`,
  );
}

export function loginPage(): Html {
  return layout(
    'Sign in',
    html`<form id="login" class="login"><label>Token <input type="password" name="token" id="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>
<p class="muted">The value of service.token (from the environment of serve).</p>`,
  );
}

export function messagePage(title: string, message: string): Html {
  return layout(title, html`<p>${message}</p>`);
}
