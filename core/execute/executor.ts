/**
 * Executes a plan: pages through `ht_plan`, cuts single-operation batches, sends them through a piscina
 * pool (at most `concurrency` in flight), and commits each batch's outcome as it returns.
 *
 * Commits are grouped: while one transaction runs, finished batches queue up and the next transaction
 * takes them all. A kill at any instant therefore loses only batches in flight or queued for commit;
 * their rows keep their old snapshot entry and are planned again by the next run. A commit that fails
 * ends the run the same way, at once: nothing later could be committed, so in-flight sends are dropped.
 */
import type { DestinationConnector, Failure, RowOp, WriteTarget } from '../../connectors/destination.js';
import type { RetryPolicy, SyncMode } from '../config/types.js';
import type { StateStore } from '../state/state-store.js';
import { oneLine } from '../../shared/errors.js';
import { markPending, readPlanPage, type PlannedRow } from '../state/plan-table.js';
import { commitBatches, type BatchOutcome } from '../state/commit-batch.js';
import { settleSnapshotLog } from '../state/snapshot-log.js';
import { StateConnectionLost, type StateSession } from '../state/state-session.js';
import type { DeliveryResult } from './deliver-batch.js';
import type { WriteTask } from './write-worker.js';
import type { WorkerPools } from './worker-pool.js';

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
  /** The state store session the run holds its lock on; checked before every commit. */
  stateSession: StateSession;
  signal: AbortSignal;
  /** Where the write threads come from; they outlive the run. */
  workerPools: WorkerPools;
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

  const pool = s.workerPools.poolFor({ workers: s.workers, tasksPerWorker: tasksPerWorker(s) });
  const committer = new GroupCommitter(async (outcomes) => {
    try {
      await s.stateSession.assertAlive();
      await commitBatches(store, s.runId, s.target.sync.name, outcomes, s.redact);
    } catch (error) {
      const explained = await s.stateSession.explain(error);
      if (explained instanceof StateConnectionLost) throw explained;
      throw new Error(`the state store refused a commit: ${oneLine((error as Error)?.message ?? String(error))}`, { cause: error });
    }
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
    // A failed commit does not wait for the sends still on the wire: their rows could not be committed.
    const settled = Promise.all(unsettled).then(() => committer.flush());
    await Promise.race([settled, committer.failed]);
    if (!committer.error) await settleSnapshotLog(store, s.target.sync.name);
  } finally {
    s.signal.removeEventListener('abort', stop);
    // Sends still on the wire (a failed commit, a state error) could never be committed: they end
    // with their threads, as under a kill, and the next run re-sends their rows.
    if (sending.size > 0) await s.workerPools.discard(pool);
    // Whatever stopped the run, a commit still running must end before the caller closes the run.
    await committer.flush();
  }
  if (committer.error) throw committer.error;
  if (crash) throw crash;
  totals.cancelled = s.signal.aborted && !totals.fatal;
  return totals;
}

/**
 * Serialises commits and folds batches that finish during a commit into the next one. After a failed
 * commit every batch added, or still queued, is refused with that error: none may be acknowledged.
 */
class GroupCommitter {
  private pending: Array<{ outcome: BatchOutcome; resolve: () => void; reject: (error: unknown) => void }> = [];
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  private onFailure: () => void = () => {};
  /** Resolves when a commit has failed. */
  readonly failed = new Promise<void>((resolve) => (this.onFailure = resolve));
  error: unknown = null;

  constructor(private readonly commit: (outcomes: BatchOutcome[]) => Promise<void>) {}

  /** Resolves once the outcome is committed; rejects if it cannot be. */
  add(outcome: BatchOutcome): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    const committed = new Promise<void>((resolve, reject) => this.pending.push({ outcome, resolve, reject }));
    // `draining` is set before drain() starts and cleared by it with no await after its last look at
    // `pending`, so an outcome is never left queued with no drain to take it.
    if (!this.draining) {
      this.draining = true;
      this.idle = this.drain();
    }
    return committed;
  }

  private async drain() {
    try {
      while (this.pending.length) {
        const take = this.pending.splice(0);
        if (this.error) {
          take.forEach((t) => t.reject(this.error));
          continue;
        }
        try {
          await this.commit(take.map((t) => t.outcome));
          take.forEach((t) => t.resolve());
        } catch (error) {
          this.error = error;
          this.onFailure();
          take.forEach((t) => t.reject(error));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Resolves once every outcome added so far is committed or refused. */
  async flush() {
    while (this.draining) await this.idle;
  }
}
