/** `sync_runs`: one row per run, opened before the first send and closed when the run ends. */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { storableText } from './sanitize-text.js';
import type { RunStatus, StateTables } from './schema.js';

/** Sortable by start time: base-36 milliseconds, then randomness. */
/** The plan's counts a run records in `sync_runs` (the planner's PlanCounts carries more). */
export interface RunPlanCounts {
  added: number;
  changed: number;
  removed: number;
  retrying: number;
  invalid: number;
  planned: number;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * A run left `running` by a process that was killed. Only called while this process holds the
 * sync's lock, so no live run can be mistaken for a dead one.
 */
export async function closeInterruptedRuns(db: Kysely<StateTables>, syncName: string, at = new Date()): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set({ status: 'failed', finished_at: at.toISOString(), error: 'interrupted: the process stopped before the run finished' })
    .where('sync_name', '=', syncName)
    .where('status', '=', 'running')
    .execute();
}

export async function openRun(
  db: Kysely<StateTables>,
  runId: string,
  syncName: string,
  counts: RunPlanCounts,
  fullResync: boolean,
  startedAt = new Date(),
  triggerId: string | null = null,
): Promise<void> {
  await db
    .insertInto('sync_runs')
    .values({
      run_id: runId,
      sync_name: syncName,
      status: 'running',
      started_at: startedAt.toISOString(),
      finished_at: null,
      rows_planned: counts.planned,
      rows_succeeded: 0,
      rows_failed: 0,
      rows_invalid: counts.invalid,
      api_calls: 0,
      error: null,
      rows_added: counts.added,
      rows_changed: counts.changed,
      rows_removed: counts.removed,
      rows_retrying: counts.retrying,
      full_resync: fullResync,
      trigger_id: triggerId,
    })
    .execute();
}

/** The mapping each sync last ran with: a later change to it is visible (and re-sends every row). */
/** The mapping and the row hash identity (core/plan/row-hash.ts) the run's acknowledged rows are stored with. */
export async function recordMapping(
  db: Kysely<StateTables>,
  syncName: string,
  mappingHash: string,
  rowHashIdentity: string,
): Promise<void> {
  await db
    .insertInto('sync_state')
    .values({ sync_name: syncName, mapping_hash: mappingHash, row_hash_identity: rowHashIdentity, updated_at: new Date().toISOString() })
    .onConflict((oc) =>
      oc.column('sync_name').doUpdateSet({
        mapping_hash: sql`excluded.mapping_hash`,
        row_hash_identity: sql`excluded.row_hash_identity`,
        updated_at: sql`excluded.updated_at`,
      }),
    )
    .execute();
}

/** `error` may quote a destination: it is stored sanitised and capped (see sanitize-text.ts). */
export async function closeRun(
  db: Kysely<StateTables>,
  runId: string,
  status: RunStatus,
  error: string | null,
  finishedAt = new Date(),
): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set({ status, error: error === null ? null : storableText(error), finished_at: finishedAt.toISOString() })
    .where('run_id', '=', runId)
    .execute();
}

/** What the API budget did to the run: retries held back (and why), rows deferred, calls spent reading usage. */
export async function recordRunBudget(
  db: Kysely<StateTables>,
  runId: string,
  budget: { retriesHeld: number; reason: string | null; deferred: number; readCalls?: number },
): Promise<void> {
  await db
    .updateTable('sync_runs')
    .set((eb) => ({
      retries_held: budget.retriesHeld,
      retries_held_reason: budget.reason === null ? null : storableText(budget.reason),
      rows_deferred: budget.deferred,
      api_calls: eb('api_calls', '+', budget.readCalls ?? 0),
    }))
    .where('run_id', '=', runId)
    .execute();
}

/** Statuses after which a run has answered the trigger that asked for it; a cancelled one has not. */
const ANSWERED = ['succeeded', 'completed_with_errors', 'failed', 'deferred'] as const;

/** The finished run a queue job already started, if any: the job is then done, whatever retried it. */
export async function answeredRun(db: Kysely<StateTables>, triggerId: string): Promise<{ run_id: string; status: RunStatus } | undefined> {
  return db
    .selectFrom('sync_runs')
    .select(['run_id', 'status'])
    .where('trigger_id', '=', triggerId)
    .where('status', 'in', [...ANSWERED])
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
