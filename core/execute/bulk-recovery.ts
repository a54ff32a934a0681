/**
 * Before a sync plans, the server-side jobs a dead process left (core/state/bulk-jobs.ts) are read:
 * a job never started is aborted and its rows are planned again like any unacknowledged row; a job
 * started is waited for, and its results are committed under the run that sent it, exactly as that
 * run would have (snapshot for acknowledged rows, failed-row index for refused ones). Rows the job did
 * not write stay unacknowledged, and the plan that follows sends them. So no row is written twice by
 * our doing, even in insert mode, and none is lost.
 */
import type { WriteTarget } from '../../connectors/destination.js';
import type { RetryPolicy } from '../config/types.js';
import { bulkJobRows, unfinishedBulkJobs } from '../state/bulk-jobs.js';
import { commitBatches, type CommitPolicy } from '../state/commit-batch.js';
import type { StateStore } from '../state/state-store.js';
import type { DeliveryResult } from './deliver-batch.js';
import type { WorkerPools } from './worker-pool.js';
import type { WriteTask } from './write-worker.js';

export interface RecoveredJob {
  jobId: string;
  runId: string;
  succeeded: number;
  failed: number;
  apiCalls: number;
}

export interface RecoverySettings {
  target: WriteTarget;
  retry: RetryPolicy;
  batchSize: number;
  workerPools: WorkerPools;
  redact: (text: string) => string;
  commitPolicy: CommitPolicy;
}

/** Reads and commits every unfinished job of the sync; throws if one cannot be read (it stays recorded). */
export async function recoverBulkJobs(store: StateStore, settings: RecoverySettings): Promise<RecoveredJob[]> {
  const syncName = settings.target.sync.name;
  const jobs = await unfinishedBulkJobs(store, syncName);
  if (jobs.length === 0) return [];
  const pool = settings.workerPools.poolFor({ workers: 1, tasksPerWorker: 1 });
  const recovered: RecoveredJob[] = [];
  try {
    for (const job of jobs) {
      const planned = await bulkJobRows(store, job.jobId);
      const task: WriteTask = {
        target: settings.target,
        op: job.op,
        rows: planned.map((r) => ({ key: r.pk, payload: r.payload, destinationId: r.destination_id })),
        retry: settings.retry,
        job: { step: 'resume', jobId: job.jobId, restBatchSize: settings.batchSize },
      };
      const result = (await pool.run(task)) as DeliveryResult;
      if (!result.jobSettled) {
        const why = result.fatal ? `${result.fatal.code}: ${result.fatal.message}` : 'no answer';
        throw new Error(
          `the Bulk API job ${job.jobId} left by run ${job.runId} could not be read (${settings.redact(why)}); its rows are not sent again until it is`,
        );
      }
      const delivered = result.rows.filter((r) => r.status !== 'aborted');
      await commitBatches(
        store,
        job.runId,
        syncName,
        [{ op: job.op, planned, delivered, apiCalls: result.apiCalls, bulkJobId: job.jobId }],
        settings.redact,
        settings.commitPolicy,
      );
      recovered.push({
        jobId: job.jobId,
        runId: job.runId,
        succeeded: delivered.filter((r) => r.status === 'succeeded').length,
        failed: delivered.filter((r) => r.status === 'failed').length,
        apiCalls: result.apiCalls,
      });
    }
  } finally {
    settings.workerPools.release(pool);
  }
  return recovered;
}
