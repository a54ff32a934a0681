/**
 * Manual retry (HubSpot's "Resync" and "Retry syncing contacts"): chosen failed rows lose their wait or
 * their block, then the sync runs, sending them with their latest values (and whatever else is due).
 * `retry <sync>` and a dashboard share this one path.
 *
 * A released row is `retrying` with `next_retry_at` null (due now) and its tries counted afresh, so the
 * sync's cadence and cap start over for it; `attempts` keeps counting its sends.
 */
import { existsSync } from 'node:fs';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { ProjectConfig } from '../config/types.js';
import { UserError } from '../../shared/errors.js';
import type { FailedRowStatus, StateTables } from '../state/schema.js';
import { recordAction } from '../state/health-store.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import type { RunController, RunResult, StartOptions } from './controller.js';
import { selectSyncs } from './select-syncs.js';

export const FAILED_ROW_STATUSES: readonly FailedRowStatus[] = ['retrying', 'blocked', 'timeout_queue'];

/** Which failed rows of a sync: every condition given must hold; none given means all of them. */
export interface RetrySelection {
  keys?: string[];
  errorCode?: string;
  status?: FailedRowStatus;
}

export interface RetryCandidate {
  primary_key: string;
  status: FailedRowStatus;
  error_class: string;
  error_code: string;
  attempts: number;
  tries: number | null;
  next_retry_at: string | null;
}

export interface RetryResult {
  /** The rows chosen (all of them were released unless `dryRun`). */
  rows: RetryCandidate[];
  /** The run that sent them; null for a dry run or when no row matched. */
  run: RunResult | null;
}

export function checkSelection(selection: RetrySelection) {
  if (selection.status !== undefined && !FAILED_ROW_STATUSES.includes(selection.status)) {
    throw new UserError(`"${selection.status}" is not a failed-row status.`, {
      field: 'retry --status',
      hint: `use one of ${FAILED_ROW_STATUSES.join(', ')}.`,
    });
  }
}

/** The condition on `failed_rows` a selection makes; values are bound parameters, never SQL text. */
function matching(syncName: string, selection: RetrySelection) {
  return (eb: ExpressionBuilder<StateTables, 'failed_rows'>) => {
    const conditions = [eb('sync_name', '=', syncName)];
    if (selection.keys?.length) conditions.push(eb('primary_key', 'in', selection.keys));
    if (selection.errorCode !== undefined) conditions.push(eb('error_code', '=', selection.errorCode));
    if (selection.status !== undefined) conditions.push(eb('status', '=', selection.status));
    return eb.and(conditions);
  };
}

/** The rows a selection chooses, in key order. */
async function chosenRows(db: Kysely<StateTables>, syncName: string, selection: RetrySelection): Promise<RetryCandidate[]> {
  const rows = await db
    .selectFrom('failed_rows')
    .where(matching(syncName, selection))
    .select(['primary_key', 'status', 'error_class', 'error_code', 'attempts', 'tries', 'next_retry_at'])
    .orderBy('primary_key')
    .execute();
  return rows.map((r) => ({ ...r, attempts: Number(r.attempts), tries: r.tries === null ? null : Number(r.tries) }));
}

/** What an action event says of a selection: "12 rows with error code X, status blocked". */
function describeSelection(count: number, selection: RetrySelection): string {
  const parts = [`${count} row${count === 1 ? '' : 's'}`];
  if (selection.keys?.length) parts.push(`by key (${selection.keys.length} given)`);
  if (selection.errorCode !== undefined) parts.push(`with error code ${selection.errorCode}`);
  if (selection.status !== undefined) parts.push(`in ${selection.status}`);
  return parts.join(' ');
}

/**
 * Releases the chosen rows (due now, tries counted afresh) and records the action in `events`; the
 * caller runs the sync (`retryFailedRows` at once, `serve` through its scheduler). Returns the rows.
 */
export async function releaseFailedRows(
  store: StateStore,
  syncName: string,
  selection: RetrySelection,
  action: { action: 'retry' | 'unblock'; at: Date },
): Promise<RetryCandidate[]> {
  checkSelection(selection);
  const rows = await chosenRows(store.db, syncName, selection);
  if (rows.length === 0) return rows;
  await store.db
    .updateTable('failed_rows')
    .set({ status: 'retrying', next_retry_at: null, tries: 0 })
    .where(matching(syncName, selection))
    .execute();
  await recordAction(store.db, { sync: syncName, action: action.action, reason: describeSelection(rows.length, selection), at: action.at });
  return rows;
}

/**
 * Lists the chosen rows and, unless `dryRun`, releases them and runs the sync through `controller`.
 * `options` are the run's (events, clock, signal).
 */
export async function retryFailedRows(
  controller: RunController,
  project: ProjectConfig,
  syncName: string,
  selection: RetrySelection,
  options: Omit<StartOptions, 'syncs' | 'all'> = {},
): Promise<RetryResult> {
  const [sync] = selectSyncs(project, [syncName], false);
  checkSelection(selection);
  if (project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path))
    return { rows: [], run: null };
  const dryRun = !!options.dryRun;
  const store = await openStateStore(project, { readOnly: dryRun });
  let rows: RetryCandidate[];
  try {
    const at = options.clock?.now() ?? controller.now();
    rows = dryRun
      ? await chosenRows(store.db, sync.name, selection)
      : await releaseFailedRows(store, sync.name, selection, { action: selection.status === 'blocked' ? 'unblock' : 'retry', at });
  } finally {
    await store.close();
  }
  if (dryRun || rows.length === 0) return { rows, run: null };
  const run = await controller.run(project, { ...options, syncs: [sync.name] });
  return { rows, run };
}
