/** `status`: per sync, its last run, how many rows the destination holds, how many are failing. */
import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/types.js';
import { sql } from 'kysely';
import { openStateStore } from '../state/state-store.js';
import { currentSnapshotSql } from '../state/snapshot-log.js';
import { scheduleColumns } from '../config/schedule-columns.js';
import { readAllHealth, type SyncHealth } from '../state/health-store.js';
import { readAllBudgets, type ApiBudgetRow } from '../state/api-budget.js';
import type { HealthState } from '../state/schema.js';
import type { StateStore } from '../state/state-store.js';

export interface SyncStatus {
  sync: string;
  model: string;
  destination: string;
  mode: string;
  schedule: string;
  next_run_at: string | null;
  last_run_id: string | null;
  last_status: string | null;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_error: string | null;
  synced_rows: number;
  failed_rows: number;
  /** `healthy` until a run or `pause` says otherwise (README "Health and alerts"). */
  health: HealthState;
  health_since: string | null;
  health_reason: string | null;
  consecutive_failed_runs: number;
  consecutive_runs_with_rejected_rows: number;
  /** The trigger of an alert sent and not yet resolved by a recovery. */
  open_alert: string | null;
  /** The destination's API usage as last reported (README "API budget"); null when never seen. */
  api_usage: { used: number; limit: number | null; remaining: number | null; observed_at: string | null } | null;
  /** Failed-row retries the last run held back for the API budget, and why. */
  retries_held: number;
  retries_held_reason: string | null;
  /** Rows the last run left unsent for the API budget. */
  rows_deferred: number;
  /** The destination's daily quota is spent: no run sends to it before this instant. */
  budget_exhausted_until: string | null;
}

/** Health rows, or none for a state store not yet migrated to them (status opens it read-only). */
async function healthRows(store: StateStore): Promise<Map<string, SyncHealth>> {
  const migrated = await store.db.selectFrom('hightouch_like_migrations').select('version').where('version', '=', 7).executeTakeFirst();
  return migrated ? readAllHealth(store.db) : new Map();
}

/** Budget rows, or none for a state store not yet migrated to them. */
async function budgetRows(store: StateStore): Promise<Map<string, ApiBudgetRow>> {
  const migrated = await store.db.selectFrom('hightouch_like_migrations').select('version').where('version', '=', 8).executeTakeFirst();
  return migrated ? readAllBudgets(store.db) : new Map();
}

export async function syncStatuses(project: ProjectConfig): Promise<SyncStatus[]> {
  const rows: SyncStatus[] = Object.values(project.syncs).map((s) => ({
    sync: s.name,
    model: s.model,
    destination: s.destination,
    mode: s.mode,
    ...scheduleColumns(s.schedule, new Date(), project.secrets),
    last_run_id: null,
    last_status: null,
    last_started_at: null,
    last_finished_at: null,
    last_error: null,
    synced_rows: 0,
    failed_rows: 0,
    health: 'healthy',
    health_since: null,
    health_reason: null,
    consecutive_failed_runs: 0,
    consecutive_runs_with_rejected_rows: 0,
    open_alert: null,
    api_usage: null,
    retries_held: 0,
    retries_held_reason: null,
    rows_deferred: 0,
    budget_exhausted_until: null,
  }));
  if (project.state.type === 'duckdb' && !existsSync(project.state.path)) return rows;
  const store = await openStateStore(project, { readOnly: true });
  try {
    const health = await healthRows(store);
    const budgets = await budgetRows(store);
    for (const row of rows) {
      const budget = budgets.get(row.destination);
      if (budget) {
        if (budget.used !== null) {
          const remaining = budget.api_limit === null ? null : Math.max(0, budget.api_limit - budget.used);
          row.api_usage = { used: budget.used, limit: budget.api_limit, remaining, observed_at: budget.observed_at };
        }
        row.budget_exhausted_until = budget.exhausted_until;
      }
      const h = health.get(row.sync);
      if (h) {
        row.health = h.state;
        row.health_since = h.since;
        row.health_reason = h.reason;
        row.consecutive_failed_runs = h.consecutive_failures;
        row.consecutive_runs_with_rejected_rows = h.consecutive_rejections;
        row.open_alert = h.alert;
      }
      const last = await store.db
        .selectFrom('sync_runs')
        .selectAll()
        .where('sync_name', '=', row.sync)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last) {
        row.last_run_id = last.run_id;
        row.last_status = last.status;
        row.last_started_at = last.started_at;
        row.last_finished_at = last.finished_at;
        row.last_error = last.error;
        row.retries_held = Number(last.retries_held ?? 0);
        row.retries_held_reason = last.retries_held_reason ?? null;
        row.rows_deferred = Number(last.rows_deferred ?? 0);
      }
      const synced = await sql.raw<{ n: number }>(`select count(*) as n from ${currentSnapshotSql(row.sync)} c`).execute(store.db);
      row.synced_rows = Number(synced.rows[0].n);
      const failed = await store.db
        .selectFrom('failed_rows')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('sync_name', '=', row.sync)
        .executeTakeFirstOrThrow();
      row.failed_rows = Number(failed.n);
    }
  } finally {
    await store.close();
  }
  return rows;
}
