/**
 * The plan table `ht_plan`, written by the planner (core/plan) and read by the executor page by page:
 * its rows in send order, the pending marks taken before a page is handed to workers, and the
 * failed-row index entries the plan settles. Lives with the state so that execute reads it without
 * depending on plan.
 */
import { sql, type Kysely } from 'kysely';
import type { SyncConfig } from '../config/types.js';
import type { StateStore } from './state-store.js';

export interface PlannedRow {
  seq: number;
  pk: string;
  op: 'insert' | 'update' | 'delete';
  payload: string | null;
  row_hash: string | null;
  destination_id: string | null;
  /** In the failed-row index when planned. Absent means unknown. */
  retrying?: boolean;
}

/** Sendable rows with `after < seq <= after + size`, in send order. */
export async function readPlanPage(store: StateStore, after: number, size: number): Promise<PlannedRow[]> {
  const db = store.db as unknown as Kysely<any>;
  const rows = (
    await sql<PlannedRow>`
      select seq, pk, op, payload, row_hash, destination_id, retrying from ht_plan
      where seq > ${after} and seq <= ${after + size} order by seq`.execute(db)
  ).rows;
  return rows.map((r) => ({ ...r, seq: Number(r.seq), retrying: r.retrying === true || String(r.retrying) === 'true' }));
}

/**
 * Records the sendable rows of `after < seq <= after + size` as pending before they are handed to
 * workers: one set-based statement per page, so the cost does not grow with the number of batches.
 */
export async function markPending(store: StateStore, syncName: string, runId: string, after: number, size: number): Promise<void> {
  const db = store.db as unknown as Kysely<any>;
  await sql`
    insert into sync_pending (sync_name, primary_key, run_id, "at")
    select ${syncName}, pk, ${runId}, ${new Date().toISOString()} from ht_plan
    where seq > ${after} and seq <= ${after + size} and op <> 'delete'
      and not exists (select 1 from sync_pending x where x.sync_name = ${syncName} and x.primary_key = ht_plan.pk)`.execute(db);
}

/** Keys in the failed-row index that this run will not send: they left the model or are in sync again. */
export async function dropSettledFailures(store: StateStore, sync: SyncConfig): Promise<number> {
  const db = store.db as unknown as Kysely<any>;
  const result = await sql`
    delete from failed_rows
    where sync_name = ${sql.lit(sync.name)}
      and primary_key not in (select pk from ht_plan where op is not null and pk is not null)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
