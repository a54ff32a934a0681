/**
 * Executes a plan: pages through `ht_plan`, cuts single-operation batches, sends them through a piscina
 * pool (at most `concurrency` in flight), and commits each batch's outcome as it returns.
 *
 * Commits are grouped: while one transaction runs, finished batches queue up and the next transaction
 * takes them all. A kill at any instant therefore loses only batches in flight or queued for commit;
 * their rows keep their old snapshot entry and are planned again by the next run.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { DestinationConnector, Failure, RowOp, WriteTarget } from '../../connectors/destination.js';
import type { RetryPolicy, SyncMode } from '../config/types.js';
import type { StateStore } from '../db/state-store.js';
import { markPending, readPlanPage, type PlannedRow } from '../plan/planner.js';
import { commitBatches, type BatchOutcome } from '../state/commit-batch.js';
import { settleSnapshotLog } from '../state/snapshot-log.js';
import type { DeliveryResult } from './deliver-batch.js';
import type { WriteTask } from './write-worker.js';

export interface ExecuteSettings {
  runId: string;
  target: WriteTarget;
  connector: DestinationConnector;
  batchSize: number;
  concurrency: number;
  workers: number;
  retry: RetryPolicy;
  planned: number;
  redact: (text: string) => string;
  signal: AbortSignal;
  onCommit?: (totals: RunTotals) => void;
}

export interface RunTotals {
  sent: number;
  succeeded: number;
  failed: number;
  aborted: number;
  apiCalls: number;
  batches: number;
  /** The auth/fatal failure that stopped the run, if any. */
  fatal: Failure | null;
  cancelled: boolean;
}

/**
 * A destination that is down fails every batch transiently even after retries. Past this many such
 * batches in a row the run stops instead of filling the failed-row index with every remaining row.
 */
const OUTAGE_BATCHES = 3;

/** The transient failure shared by every row of a batch, if the whole batch failed that way. */
function outageOf(result: DeliveryResult): Failure | null {
  const first = result.rows[0];
  if (!first || first.status !== 'failed') return null;
  const transient = (r: DeliveryResult['rows'][number]) =>
    r.status === 'failed' && (r.failure.errorClass === 'transient' || r.failure.errorClass === 'rate_limited');
  return result.rows.every(transient) ? first.failure : null;
}

/** Write calls each worker thread runs at once: the concurrency spread over the threads. */
const tasksPerWorker = (s: { concurrency: number; workers: number }) => Math.ceil(s.concurrency / s.workers);

/** Vitest runs the TypeScript sources; worker threads always load the compiled module. */
function workerFilename(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return here.replace(/executor\.js$/, 'write-worker.js');
  return here.replace(/([\\/])core[\\/]execute[\\/]executor\.ts$/, '$1dist$1core$1execute$1write-worker.js');
}

/**
 * Under upsert and mirror an insert and an update are the same call, so they share batches;
 * deletes always travel alone, and so do inserts and updates under the modes that tell them apart.
 */
function writeOp(mode: SyncMode, op: PlannedRow['op']): RowOp {
  return op !== 'delete' && (mode === 'upsert' || mode === 'mirror') ? 'update' : op;
}

function* batchesOf(page: PlannedRow[], size: number, mode: SyncMode): Generator<PlannedRow[]> {
  let batch: PlannedRow[] = [];
  for (const row of page) {
    if (batch.length && (batch.length >= size || writeOp(mode, batch[0].op) !== writeOp(mode, row.op))) {
      yield batch;
      batch = [];
    }
    batch.push(row);
  }
  if (batch.length) yield batch;
}

export async function executePlan(store: StateStore, s: ExecuteSettings): Promise<RunTotals> {
  const totals: RunTotals = { sent: 0, succeeded: 0, failed: 0, aborted: 0, apiCalls: 0, batches: 0, fatal: null, cancelled: false };
  if (s.planned === 0) return totals;

  const pool = new Piscina({
    filename: workerFilename(),
    minThreads: s.workers,
    maxThreads: s.workers,
    concurrentTasksPerWorker: tasksPerWorker(s),
    idleTimeout: 60_000,
  });
  const committer = new GroupCommitter(async (outcomes) => {
    await commitBatches(store, s.runId, s.target.sync.name, outcomes, s.redact);
    for (const o of outcomes) {
      for (const d of o.delivered) {
        if (d.status === 'succeeded') totals.succeeded++;
        else if (d.status === 'failed') totals.failed++;
        else totals.aborted++;
      }
      totals.apiCalls += o.apiCalls;
    }
    s.onCommit?.(totals);
  });

  // Backpressure: at most `concurrency` batches on the wire, and at most as many again acknowledged
  // but not yet committed. That bounds what a kill can force the next run to re-send.
  const sending = new Set<Promise<void>>();
  const unsettled = new Set<Promise<void>>();
  const busy = () => sending.size >= s.concurrency || unsettled.size >= 2 * s.concurrency;
  let stopped = false;
  let failingBatches = 0;
  let crash: unknown = null;
  const stop = () => (stopped = true);
  s.signal.addEventListener('abort', stop);

  const target = { ...s.target, callsPerClient: tasksPerWorker(s) };
  const dispatch = (batch: PlannedRow[]) => {
    const task: WriteTask = {
      target,
      op: writeOp(s.target.sync.mode, batch[0].op),
      rows: batch.map((r) => ({ key: r.pk, payload: r.payload, destinationId: r.destination_id })),
      retry: s.retry,
    };
    totals.sent += batch.length;
    totals.batches++;
    // The outcome is judged before the send leaves `sending`: the dispatch loop wakes on that, and
    // must already see a stop (fatal, outage) so that it sends no further batch.
    const send: Promise<DeliveryResult> = (pool.run(task) as Promise<DeliveryResult>)
      .then((result) => {
        if (result.fatal) {
          totals.fatal ??= { ...result.fatal, message: s.redact(result.fatal.message) };
          stop();
        }
        const outage = outageOf(result);
        failingBatches = outage ? failingBatches + 1 : 0;
        if (outage && failingBatches >= OUTAGE_BATCHES) {
          totals.fatal ??= {
            errorClass: 'fatal',
            code: 'DESTINATION_UNAVAILABLE',
            message: s.redact(`${failingBatches} batches in a row failed after every retry; last: ${outage.code}: ${outage.message}`),
            remediation: 'check that the destination is up; the failed rows are retried by the next run.',
          };
          stop();
        }
        return result;
      });
    // Settles (never rejects, so the dispatch loop's race cannot throw) once the outcome is judged.
    const onWire: Promise<void> = send.then(() => {}, () => {}).finally(() => sending.delete(onWire));
    const job = send
      .then((result) => committer.add({ op: task.op, planned: batch, delivered: result.rows, apiCalls: result.apiCalls }))
      .catch((error) => {
        crash ??= error;
        stop();
      })
      .finally(() => unsettled.delete(job));
    sending.add(onWire);
    unsettled.add(job);
  };

  try {
    // Each page costs two statements over the plan table (mark pending, read) whatever its size; pages
    // of at least 10,000 rows keep that under a few percent of the run. Memory: a page of 2.5 kB rows is 25 MB.
    const pageSize = Math.max(s.batchSize * s.concurrency * 4, 10_000);
    for (let after = 0; after < s.planned && !stopped; after += pageSize) {
      await markPending(store, s.target.sync.name, s.runId, after, pageSize);
      const page = await readPlanPage(store, after, pageSize);
      for (const batch of batchesOf(page, s.batchSize, s.target.sync.mode)) {
        while (busy() && !stopped) await Promise.race([...sending, ...unsettled]);
        if (stopped || committer.error) break;
        dispatch(batch);
      }
      if (committer.error) break;
    }
    await Promise.all(unsettled);
    await committer.flush();
    if (!committer.error) await settleSnapshotLog(store, s.target.sync.name);
  } finally {
    s.signal.removeEventListener('abort', stop);
    await pool.destroy();
  }
  if (committer.error) throw committer.error;
  if (crash) throw crash;
  totals.cancelled = s.signal.aborted && !totals.fatal;
  return totals;
}

/** Serialises commits and folds batches that finish during a commit into the next one. */
class GroupCommitter {
  private pending: Array<{ outcome: BatchOutcome; resolve: () => void }> = [];
  private running: Promise<void> | null = null;
  error: unknown = null;

  constructor(private readonly commit: (outcomes: BatchOutcome[]) => Promise<void>) {}

  /** Resolves once the outcome is committed (or the committer has failed). */
  add(outcome: BatchOutcome): Promise<void> {
    const settled = new Promise<void>((resolve) => this.pending.push({ outcome, resolve }));
    this.running ??= this.drain();
    return settled;
  }

  private async drain() {
    while (this.pending.length) {
      const take = this.pending.splice(0);
      try {
        if (!this.error) await this.commit(take.map((t) => t.outcome));
      } catch (error) {
        this.error = error;
      }
      take.forEach((t) => t.resolve());
    }
    this.running = null;
  }

  async flush() {
    while (this.running) await this.running;
  }
}
