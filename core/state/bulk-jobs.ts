/**
 * The Bulk API jobs a sync has handed rows to and not yet committed (migration 9). A job is recorded,
 * with its rows, before any row is uploaded; the commit that records the job's results removes it in
 * the same transaction. A job still here when a run starts was left by a process that died: the run
 * reads its results first (core/execute/bulk-recovery.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { RowOp } from '../../connectors/destination.js';
import { quoteLiteral as literal } from '../db/sql-text.js';
import type { PlannedRow } from './plan-table.js';
import type { StateStore } from './state-store.js';
import { transact } from './transact.js';

export interface UnfinishedBulkJob {
  jobId: string;
  runId: string;
  op: RowOp;
}

/** Records a job and the plan rows `fromSeq ≤ seq ≤ toSeq` it carries, in one transaction. */
export async function recordBulkJob(
  store: StateStore,
  job: { jobId: string; syncName: string; runId: string; op: RowOp; fromSeq: number; toSeq: number },
  now: Date,
): Promise<void> {
  const id = literal(job.jobId);
  await transact(store, [
    `insert into bulk_jobs (job_id, sync_name, run_id, op, created_at)
      values (${id}, ${literal(job.syncName)}, ${literal(job.runId)}, ${literal(job.op)}, cast(${literal(now.toISOString())} as timestamptz))`,
    `insert into bulk_job_rows (job_id, primary_key, op, payload, row_hash, destination_id, retrying)
      select ${id}, pk, op, payload, row_hash, destination_id, retrying from ht_plan
      where seq >= ${Number(job.fromSeq)} and seq <= ${Number(job.toSeq)}`,
  ]);
}

export async function unfinishedBulkJobs(store: StateStore, syncName: string): Promise<UnfinishedBulkJob[]> {
  const rows = await store.db
    .selectFrom('bulk_jobs')
    .select(['job_id', 'run_id', 'op'])
    .where('sync_name', '=', syncName)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ jobId: r.job_id, runId: r.run_id, op: r.op }));
}

/** The rows a job carries, as the plan had them when the job was recorded. */
export async function bulkJobRows(store: StateStore, jobId: string): Promise<PlannedRow[]> {
  const db = store.db as unknown as Kysely<any>;
  const rows = (
    await sql<PlannedRow>`
      select primary_key as pk, op, payload, row_hash, destination_id, retrying from bulk_job_rows
      where job_id = ${jobId} order by primary_key`.execute(db)
  ).rows;
  return rows.map((r, index) => ({ ...r, seq: index + 1, retrying: r.retrying === true || String(r.retrying) === 'true' }));
}

/** Statements that forget jobs whose results are committed with them. */
export function forgetBulkJobsSql(jobIds: string[]): string[] {
  if (jobIds.length === 0) return [];
  const ids = jobIds.map(literal).join(', ');
  return [`delete from bulk_job_rows where job_id in (${ids})`, `delete from bulk_jobs where job_id in (${ids})`];
}
