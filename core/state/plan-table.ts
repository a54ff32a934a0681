/**
 * The plan table `ht_plan`, written by the planner (core/plan) and read by the executor page by page:
 * its rows in send order, the pending marks taken before a page is handed to workers, and the
 * failed-row index entries the plan settles. Lives with the state so that execute reads it without
 * depending on plan.
 */
import { sql, type Kysely } from 'kysely';
import type { SyncConfig } from '../config/types.js';
import type { StateStore } from './state-store.js';
import { currentSnapshotSql, forgetPlanRowsSql } from './snapshot-log.js';
import { transact } from './transact.js';

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
 * Notes the keys pending before the run's first page (an earlier run's, or those `forgetSuperseded`
 * marked for this run) in the temp table `ht_pending_before`, which `markPending` checks. Usually empty.
 */
export async function notePendingBefore(store: StateStore, syncName: string): Promise<void> {
  const db = store.db as unknown as Kysely<any>;
  await sql`drop table if exists ht_pending_before`.execute(db);
  await sql`create temp table ht_pending_before as select primary_key from sync_pending where sync_name = ${syncName}`.execute(db);
}

/**
 * Records the sendable rows of `after < seq <= after + size` as pending before they are handed to
 * workers: one set-based statement per page, so the cost does not grow with the number of batches.
 *
 * A key is pending once (the table has no key index: migration 4), so a key already there is skipped.
 * Only the keys of `ht_pending_before` can be: the plan holds a key once, a run marks each page once,
 * and the run holds the sync's lock. Checked against the whole table instead, the anti-join built its
 * hash from every key marked so far, page after page: 7.3 s of a 1M-row run's 35 s send phase (100
 * pages, 73 ms each).
 */
export async function markPending(store: StateStore, syncName: string, runId: string, after: number, size: number): Promise<void> {
  const db = store.db as unknown as Kysely<any>;
  await sql`
    insert into sync_pending (sync_name, primary_key, run_id, "at")
    select ${syncName}, pk, ${runId}, ${new Date().toISOString()} from ht_plan
    where seq > ${after} and seq <= ${after + size} and op <> 'delete'
      and not exists (select 1 from ht_pending_before x where x.primary_key = ht_plan.pk)`.execute(db);
}

/**
 * The planned deletes whose record a live key of the sync now holds: the same destination id is in the
 * current snapshot under a key this run does not delete. Sending one would delete a record a model row
 * holds. The plan drops such deletes where it can compare addresses (planner.ts, `superseded`), but a
 * destination whose deletes go to a record id its writes never name (Salesforce upserts by External ID,
 * deletes by Id) shows it only once the write that took the record over is acknowledged with its id.
 * Those not yet in `known` are forgotten as `forgetSuperseded` forgets: logged deleted, nothing sent,
 * and out of the failed-row index in the same transaction (the plan kept a retried delete's entry).
 * Returns the seqs of all of them; the caller skips them. Compared as text: a plan whose rows have no
 * destination id may type the column as a number.
 */
export async function forgetHeldDeletes(
  store: StateStore,
  syncName: string,
  runId: string,
  at: Date,
  known: Set<number>,
): Promise<number[]> {
  const db = store.db as unknown as Kysely<any>;
  const held = (
    await sql<{ seq: number }>`
      select p.seq from ht_plan p
      where p.op = 'delete' and p.destination_id is not null
        and cast(p.destination_id as text) in (select cast(s.destination_id as text) from ${sql.raw(currentSnapshotSql(syncName))} s
          where s.destination_id is not null and s.primary_key not in (select d.pk from ht_plan d where d.op = 'delete'))`.execute(db)
  ).rows.map((r) => Number(r.seq));
  const fresh = held.filter((seq) => !known.has(seq));
  if (fresh.length > 0) await transact(store, forgetPlanRowsSql(syncName, runId, at, `op = 'delete' and seq in (${fresh.join(', ')})`));
  return held;
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
