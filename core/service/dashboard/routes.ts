/**
 * The dashboard on the service's fastify app: its pages (server-rendered HTML), the JSON API they and
 * scripts use (README "Dashboard"), and its static assets, all served locally (uPlot from
 * node_modules; no external network, no front-end build).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { getConnector } from '../../../connectors/registry.js';
import type { ProjectConfig } from '../../config/types.js';
import { redact } from '../../../shared/redact.js';
import { FAILED_ROW_STATUSES, type RetrySelection } from '../../run/manual-retry.js';
import type { SyncIssue } from '../../run/sync-issues.js';
import type { FailedRowStatus, StateTables } from '../../state/schema.js';
import { sameSecret, sessionValue, SESSION_COOKIE } from '../access.js';
import type { Html } from './html.js';
import * as pages from './pages.js';
import {
  changelogPage,
  eventsPage,
  failedRowCodes,
  failedRowCounts,
  failedRowsPage,
  pageSize,
  runById,
  runErrors,
  runOps,
  runsPage,
  storedRemediation,
  type FailedRowFilter,
} from './queries.js';

export interface DashboardBackend {
  project: ProjectConfig;
  /** The service's open state store. */
  db(): Kysely<StateTables>;
  syncs(): Promise<unknown[]>;
  hasSync(name: string): boolean;
  issues(sync: string | undefined): Promise<SyncIssue[]>;
  /** Releases the chosen failed rows and runs the sync (README "Dashboard"); `rows` released. */
  retry(name: string, selection: RetrySelection, action: 'retry' | 'unblock'): Promise<{ rows: number; outcome: string | null }>;
  token: string | null;
}

/** The package's folder: assets are read from the sources, whether this runs compiled (dist/) or not. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function assets(): Record<string, { type: string; body: Buffer }> {
  const own = join(packageRoot(), 'core', 'service', 'dashboard', 'assets');
  const require = createRequire(import.meta.url);
  return {
    'dashboard.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(own, 'dashboard.css')) },
    'dashboard.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(own, 'dashboard.js')) },
    'uplot.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) },
    'uplot.css': { type: 'text/css; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) },
  };
}

type Query = Record<string, string | undefined>;

function failedRowFilter(q: Query): FailedRowFilter {
  const filter: FailedRowFilter = {};
  if (q.sync) filter.sync = q.sync;
  if (q.status) {
    if (!FAILED_ROW_STATUSES.includes(q.status as FailedRowStatus))
      throw badRequest(`status=${q.status} is not one of ${FAILED_ROW_STATUSES.join(', ')}`);
    filter.status = q.status as FailedRowStatus;
  }
  if (q.error_code) filter.errorCode = q.error_code;
  if (q.key) filter.key = q.key;
  return filter;
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

function notFound(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 404 });
}

/** The body of retry/unblock: `keys`, `error_code`, `status`, each optional and checked. */
function selectionOf(body: unknown, action: 'retry' | 'unblock'): RetrySelection {
  const b = (body ?? {}) as Record<string, unknown>;
  const selection: RetrySelection = {};
  if (b.keys !== undefined) {
    if (!Array.isArray(b.keys) || b.keys.length === 0 || b.keys.length > 1000 || !b.keys.every((k) => typeof k === 'string'))
      throw badRequest('keys must be a list of 1 to 1000 primary keys (strings)');
    selection.keys = b.keys as string[];
  }
  if (b.error_code !== undefined) {
    if (typeof b.error_code !== 'string' || b.error_code === '') throw badRequest('error_code must be a code (a string)');
    selection.errorCode = b.error_code;
  }
  if (action === 'unblock') selection.status = 'blocked';
  else if (b.status !== undefined) {
    if (!FAILED_ROW_STATUSES.includes(b.status as FailedRowStatus))
      throw badRequest(`status must be one of ${FAILED_ROW_STATUSES.join(', ')}`);
    selection.status = b.status as FailedRowStatus;
  }
  return selection;
}

export function registerDashboard(app: FastifyInstance, backend: DashboardBackend): void {
  const files = assets();
  const project = backend.project;
  const mask = (text: string) => redact(text, project.secrets);
  const send = (reply: FastifyReply, page: Html) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(mask(page.text));
  const syncOf = (name: string) => {
    if (!backend.hasSync(name)) throw notFound(`no sync named "${name}"`);
    return project.syncs[name];
  };

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const file = files[request.params.file];
    if (!file) return reply.code(404).send({ error: 'no such asset' });
    return reply.type(file.type).header('cache-control', 'max-age=3600').send(file.body);
  });

  const runsOf = (name: string, q: Query) => runsPage(backend.db(), syncOf(name).name, q.after, pageSize(q.limit));
  const eventsOf = (name: string, q: Query, cursor = q.after) => eventsPage(backend.db(), syncOf(name).name, cursor, pageSize(q.limit));
  const runDetail = async (id: string) => {
    const db = backend.db();
    const run = await runById(db, id);
    if (!run) throw notFound(`no run "${id}"`);
    const sync = project.syncs[run.sync_name];
    const catalogue = sync ? getConnector(project.destinations[sync.destination]?.type ?? '')?.catalogue : undefined;
    const errors = [];
    for (const e of await runErrors(db, id)) {
      const remediation = catalogue?.[e.error_code]?.remediation ?? (await storedRemediation(db, run.sync_name, e.error_code));
      errors.push({ ...e, remediation });
    }
    return { run, ops: await runOps(db, id), errors };
  };

  // JSON API
  app.get<{ Params: { name: string }; Querystring: Query }>('/api/syncs/:name/runs', async (request) =>
    runsOf(request.params.name, request.query),
  );
  app.get<{ Params: { name: string }; Querystring: Query }>('/api/syncs/:name/events', async (request) =>
    eventsOf(request.params.name, request.query),
  );
  app.get<{ Params: { id: string } }>('/api/runs/:id', async (request) => runDetail(request.params.id));
  app.get<{ Params: { id: string }; Querystring: Query }>('/api/runs/:id/changelog', async (request) => {
    if (!(await runById(backend.db(), request.params.id))) throw notFound(`no run "${request.params.id}"`);
    return changelogPage(backend.db(), request.params.id, request.query.after, pageSize(request.query.limit));
  });
  app.get<{ Querystring: Query }>('/api/failed-rows', async (request) =>
    failedRowsPage(backend.db(), failedRowFilter(request.query), request.query.after, pageSize(request.query.limit)),
  );
  app.get<{ Querystring: Query }>('/api/issues', async (request) => {
    if (request.query.sync) syncOf(request.query.sync);
    return backend.issues(request.query.sync || undefined);
  });
  for (const action of ['retry', 'unblock'] as const) {
    app.post<{ Params: { name: string } }>(`/api/syncs/:name/${action}`, async (request, reply) => {
      const sync = syncOf(request.params.name);
      const result = await backend.retry(sync.name, selectionOf(request.body, action), action);
      return reply.code(result.rows === 0 ? 200 : 202).send({ sync: sync.name, ...result });
    });
  }
  app.post<{ Body: { token?: unknown } }>('/login', async (request, reply) => {
    const token = backend.token;
    if (token === null) return reply.code(204).send();
    const given = request.body?.token;
    if (typeof given !== 'string' || !sameSecret(given, token)) return reply.code(401).send({ error: 'that is not the service token' });
    // Strict: the browser never sends it with a request another site starts.
    return reply
      .header('set-cookie', `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`)
      .code(204)
      .send();
  });

  // Pages
  app.get('/login', async (_request, reply) => send(reply, pages.loginPage()));
  app.get('/', async (_request, reply) => {
    const db = backend.db();
    const syncs = (await backend.syncs()) as pages.SyncOverview[];
    const lastCalls = new Map<string, number>();
    for (const s of syncs) if (s.last_run_id) lastCalls.set(s.sync, (await runById(db, s.last_run_id))?.api_calls ?? 0);
    return send(reply, pages.syncsPage(syncs, await failedRowCounts(db), lastCalls));
  });
  app.get<{ Params: { name: string }; Querystring: Query }>('/syncs/:name', async (request, reply) => {
    const sync = syncOf(request.params.name);
    const status = ((await backend.syncs()) as pages.SyncOverview[]).find((s) => s.sync === sync.name)!;
    const q = request.query;
    const [runs, events] = [await runsOf(sync.name, q), await eventsOf(sync.name, q, q.events_after)];
    return send(reply, pages.syncPage({ sync, status, runs, events, params: { after: q.after, events_after: q.events_after } }));
  });
  app.get<{ Params: { id: string }; Querystring: Query }>('/runs/:id', async (request, reply) => {
    const { run, ops, errors } = await runDetail(request.params.id);
    const changelog = await changelogPage(backend.db(), run.run_id, request.query.after, pageSize(request.query.limit));
    return send(reply, pages.runPage(run, ops, errors, changelog));
  });
  app.get<{ Querystring: Query }>('/failed-rows', async (request, reply) => {
    const filter = failedRowFilter(request.query);
    const db = backend.db();
    const page = await failedRowsPage(db, filter, request.query.after, pageSize(request.query.limit));
    return send(reply, pages.failedRowsPage(filter, Object.keys(project.syncs), await failedRowCodes(db, filter.sync), page));
  });
  app.get<{ Querystring: Query }>('/issues', async (request, reply) => {
    const sync = request.query.sync || undefined;
    if (sync) syncOf(sync);
    return send(reply, pages.issuesPage(await backend.issues(sync), sync));
  });
}
