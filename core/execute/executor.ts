/**
 * Executes a plan: pages through `ht_plan`, cuts single-operation batches, sends them through a piscina
 * pool (at most `concurrency` in flight, as many again queued in the threads: send-gate.ts), and commits
 * each batch's outcome as it returns.
 *
 * Commits are grouped: while one transaction runs, finished batches queue up and the next transaction
 * takes them all. A kill at any instant therefore loses only batches in flight or queued for commit;
 * their rows keep their old snapshot entry and are planned again by the next run. A commit that fails
 * ends the run the same way, at once: nothing later could be committed, so in-flight sends are dropped.
 */
import type { ApiUsage, DestinationConnector, Failure, WriteTarget } from '../../connectors/destination.js';
import type { RetryPolicy } from '../config/types.js';
import type { StateStore } from '../state/state-store.js';
import { oneLine } from '../../shared/errors.js';
import { forgetHeldDeletes, markPending, notePendingBefore, readPlanPage, type PlannedRow } from '../state/plan-table.js';
import { commitBatches, type BatchOutcome, type CommitPolicy } from '../state/commit-batch.js';
import { capDuckDBMemory } from '../state/memory-cap.js';
import { settleSnapshotLog } from '../state/snapshot-log.js';
import { StateConnectionLost, type StateSession } from '../state/state-session.js';
import { batchOp, cutBatches } from './cut-batches.js';
import type { DeliveredRow, DeliveryResult } from './deliver-batch.js';
import { GroupCommitter } from './group-committer.js';
import { OutcomeJudge } from './outcome-judge.js';
import { SchemaHealer, type HealNotice } from './schema-healer.js';
import { maxUnsettledBatches, SendWindow } from './send-window.js';
import { QUEUED_PER_CALL, SendGate } from './send-gate.js';
import type { JobOpened, WriteTask } from './write-worker.js';
import { recordBulkJob } from '../state/bulk-jobs.js';
import { poolShape, type WorkerPools } from './worker-pool.js';

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
  /** How failures are recorded across runs (the sync's `failed_rows:` policy) and the run's clock. */
  commitPolicy: CommitPolicy;
  /**
   * Rows per server-side job when the connector writes this run through jobs (`jobSize`), else null.
   * Batches larger than `batchSize` then go as one job each; smaller ones (an op's tail) as batches.
   */
  jobRows?: number | null;
  onCommit?: (totals: RunTotals) => void;
  /** The destination's `api_budget.max_calls_per_run`: no batch leaves once the run's calls reach it. */
  maxCalls?: number | null;
  /** Called after each self-heal (README "Self-healing"), before the held rows are sent again. */
  onHeal?: (notice: HealNotice) => Promise<void>;
  /** Called with the number of planned deletes not sent because a live key holds their record. */
  onSuperseded?: (keys: number) => void;
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
  /** The destination's spent quota (`quota` class) that stopped sending: the unsent rows are deferred. */
  quota: Failure | null;
  /** `max_calls_per_run` was reached: the unsent rows are deferred. */
  callLimitReached: boolean;
  /** Rows failing with schema drift again after a heal: the sync is paused (a permission change). */
  permission: Failure | null;
  /** The API usage the destination reported last. */
  apiUsage: ApiUsage | null;
}

/** Write calls each worker thread runs at once: the concurrency spread over the threads. */
const tasksPerWorker = (settings: { concurrency: number; workers: number }) => poolShape(settings).tasksPerWorker;

/**
 * Jobs in flight at once. Each holds its rows in memory (100,000 rows of 1 kB: 100 MB) while the
 * destination works through it, and the destination runs a job's rows in parallel itself.
 */
const MAX_JOBS_IN_FLIGHT = 2;

export async function executePlan(store: StateStore, settings: ExecuteSettings): Promise<RunTotals> {
  const totals: RunTotals = {
    sent: 0,
    succeeded: 0,
    failed: 0,
    aborted: 0,
    apiCalls: 0,
    batches: 0,
    fatal: null,
    cancelled: false,
    quota: null,
    callLimitReached: false,
    permission: null,
    apiUsage: null,
  };
  if (settings.planned === 0) return totals;

  // The plan table's pages go to disk rather than stay in memory while sending (core/state/memory-cap.ts).
  await capDuckDBMemory(store, 'send');
  let planCap = false;
  const jobRows = settings.jobRows ?? null;
  const pool = settings.workerPools.poolFor(poolShape(settings), settings.target.destination.type);
  const committer = new GroupCommitter((outcomes) => commitOutcomes(store, settings, outcomes, totals));
  // Batches go to the threads ahead of their call: up to `concurrency` more wait queued there, behind
  // the gate that keeps the calls at `concurrency` (send-gate.ts). Jobs are not queued, nor are batches
  // under `max_calls_per_run`: the limit counts a batch as one call when it is handed out, and a batch
  // retried in the thread spends more before the next queued one would leave.
  const handedOut = jobRows
    ? Math.min(settings.concurrency, MAX_JOBS_IN_FLIGHT)
    : (settings.maxCalls ? 1 : QUEUED_PER_CALL) * settings.concurrency;
  const sendWindow = new SendWindow(handedOut, jobRows ? 2 * handedOut : maxUnsettledBatches(settings.concurrency, settings.batchSize));
  const gate = new SendGate(settings.concurrency, tasksPerWorker(settings));
  const judge = new OutcomeJudge(settings.redact);
  let stopped = false;
  let crash: unknown = null;
  /** No batch is handed out any more; unless the batches already handed out may still go, none is sent. */
  const stop = ({ handedOutGo = false } = {}) => {
    stopped = true;
    if (!handedOutGo) gate.stop();
  };
  // A signal already given never fires its event again.
  const onAbort = () => stop();
  if (settings.signal.aborted) stop();
  settings.signal.addEventListener('abort', onAbort);

  const healer = new SchemaHealer({ ...settings.target, callsPerClient: tasksPerWorker(settings) }, settings.connector, async (notice) => {
    // Counted by the commit, as every batch's calls are.
    if (notice.apiCalls > 0) await committer.add({ op: 'update', planned: [], delivered: [], apiCalls: notice.apiCalls });
    await settings.onHeal?.(notice);
  });
  // Batches the gate sent back because a heal changed the target: sent again, under the healed one.
  const unsent: PlannedRow[][] = [];
  let heldForHeal = false;
  // Calls of the batches judged so far; each batch on the wire spends at least one more.
  let callsJudged = 0;
  const overCallLimit = () => !!settings.maxCalls && callsJudged + sendWindow.onWire >= settings.maxCalls;
  const dispatch = (batch: PlannedRow[]) => {
    const generation = healer.generation;
    const task: WriteTask = {
      target: healer.current,
      op: batchOp(settings.target.sync.mode, batch[0].op),
      rows: batch.map((r) => ({ key: r.pk, payload: r.payload, destinationId: r.destination_id })),
      retry: settings.retry,
      ...(jobRows === null && { gate: gate.ticket(generation) }),
    };
    totals.sent += batch.length;
    totals.batches++;
    const asJob = jobRows !== null && batch.length > settings.batchSize;
    const delivered = asJob
      ? sendJob(batch, task)
      : (pool.run(task) as Promise<DeliveryResult>).then((result) => ({ result, jobId: undefined }));
    // The outcome is judged before the send leaves the window: the dispatch loop wakes on that, and
    // must already see a stop (fatal, outage, quota) so that it sends no further batch.
    const judged = delivered.then(({ result, jobId }) => {
      if (result.unsent) {
        totals.sent -= batch.length;
        totals.batches--;
        if (!stopped) unsent.push(batch);
        return null;
      }
      try {
        return sortOutcome(result, jobId);
      } finally {
        // A heal holds the queued batches until it is done; then those built before it come back unsent.
        if (healer.busy && !heldForHeal) {
          heldForHeal = true;
          gate.hold();
          void healer.settled().then(() => {
            heldForHeal = false;
            // A heal that failed stops the run before any queued batch can leave under the old target.
            if (healer.error) {
              totals.fatal ??= healer.error;
              stop();
            }
            gate.setGeneration(healer.generation);
            gate.release();
          });
        }
        if (result.judging) gate.release();
      }
    });
    const sortOutcome = (result: DeliveryResult, jobId: string | undefined) => {
      callsJudged += result.apiCalls;
      if (result.apiUsage) totals.apiUsage = result.apiUsage;
      const stopping = judge.stoppingFailure(result);
      if (stopping?.errorClass === 'quota') totals.quota ??= stopping;
      else if (stopping) totals.fatal ??= stopping;
      const kept = healer.sort(batch, result.rows, generation);
      // A held row is sent again: it counts once.
      totals.sent -= batch.length - kept.planned.length;
      if (healer.permission) totals.permission ??= healer.permission;
      if (healer.error) totals.fatal ??= healer.error;
      totals.fatal ??= totals.permission;
      if (stopping || healer.permission || healer.error) stop();
      // Rows acknowledged without a dropped field keep a hash of their own: once the field is back in
      // the destination, the next run sees them changed and sends them again whole.
      const omitted = task.target.sync.omitFields ?? [];
      let plain = (result.plain ?? []).map((i) => batch[i]);
      let newIds = result.newIds?.map(([i, id]): [number, string] => [batch[i].seq, id]);
      let rows = kept.delivered;
      if (omitted.length && plain.length) {
        // Their hash is not the plan's: each is committed on its own.
        const ids = new Map(newIds);
        rows = [
          ...rows,
          ...plain.map(
            (p): DeliveredRow => ({ key: p.pk, status: 'succeeded', destinationId: ids.get(p.seq) ?? p.destination_id, sends: 1 }),
          ),
        ];
        plain = [];
        newIds = undefined;
      }
      const planned = omitted.length
        ? kept.planned.map((p) => ({ ...p, row_hash: p.row_hash && `${p.row_hash}~without:${omitted.join(',')}` }))
        : kept.planned;
      return { ...result, rows, plain, newIds, planned, jobId };
    };
    sendWindow.track(judged, (sent) =>
      sent
        .then((result) =>
          result === null
            ? undefined
            : committer.add({
                op: task.op,
                planned: result.planned,
                delivered: result.rows,
                plain: result.plain,
                newIds: result.newIds,
                apiCalls: result.apiCalls,
                bulkJobId: result.jobId,
              }),
        )
        .catch((error) => {
          crash ??= error;
          stop();
        }),
    );
  };
  // Deletes whose record a live key holds (plan-table.ts `forgetHeldDeletes`), checked before the first
  // delete and again after any write sent since: a write acknowledged with a record's id shows whose it is.
  // Only where a delete goes to that id: an http receiver may answer one id for many keys it deletes by key.
  const heldDeletes = new Set<number>();
  const checksHeldDeletes = settings.connector.deletesByDestinationId?.(settings.target) ?? false;
  let writtenSinceCheck = true;
  const withoutHeldDeletes = async (batch: PlannedRow[]): Promise<PlannedRow[] | null> => {
    if (!checksHeldDeletes) return batch;
    if (batch[0].op !== 'delete') {
      writtenSinceCheck = true;
      return batch;
    }
    if (writtenSinceCheck) {
      // Every write handed out so far is committed first: its record's id is then in the snapshot log.
      await sendWindow.allSettled();
      await committer.flush();
      if (stopped || committer.error) return null;
      const before = heldDeletes.size;
      for (const seq of await forgetHeldDeletes(
        store,
        settings.target.sync.name,
        settings.runId,
        settings.commitPolicy.now(),
        heldDeletes,
      )) {
        heldDeletes.add(seq);
      }
      if (heldDeletes.size > before) settings.onSuperseded?.(heldDeletes.size - before);
      writtenSinceCheck = false;
    }
    return heldDeletes.size ? batch.filter((row) => !heldDeletes.has(row.seq)) : batch;
  };
  /** Sends `batches` within the window; false once the run stops. */
  const send = async (batches: Iterable<PlannedRow[]>): Promise<boolean> => {
    for (const whole of batches) {
      // A heal pauses the sync's writes: no batch leaves until it is done; then the held rows go first.
      await healer.settled();
      if (healer.holding > 0 && !stopped && !(await send(cutBatches(healer.takeHeld(), settings.batchSize, settings.target.sync.mode)))) {
        return false;
      }
      if (unsent.length > 0 && !stopped && !(await send(unsent.splice(0)))) return false;
      if (stopped || committer.error) return false;
      // First, as it may wait for every batch on the wire, whose retries spend calls the check below counts.
      const batch = await withoutHeldDeletes(whole);
      if (batch === null) return false;
      while (sendWindow.full && !stopped) await sendWindow.progress();
      if (!stopped && overCallLimit()) {
        totals.callLimitReached = true;
        // The batches handed out are within the limit: each was counted when it was handed out.
        stop({ handedOutGo: true });
      }
      if (stopped || committer.error) return false;
      if (batch.length > 0) dispatch(batch);
    }
    return true;
  };

  /**
   * One batch as a server-side job: the job is created, then recorded with its rows in the state store,
   * and only then are the rows uploaded; a process killed after that leaves the job for the next run to
   * read (bulk-recovery.ts). The record goes with the commit of the job's results; a job whose results
   * could not be read keeps it.
   */
  const sendJob = async (batch: PlannedRow[], task: WriteTask): Promise<{ result: DeliveryResult; jobId: string | undefined }> => {
    const opened = (await pool.run({ ...task, rows: [], job: { step: 'open' } })) as JobOpened;
    if (!opened.jobId) {
      const failure = opened.failure!;
      const stops = failure.errorClass === 'auth' || failure.errorClass === 'fatal';
      const rows = batch.map((r) =>
        stops ? { key: r.pk, status: 'aborted' as const, failure, sends: 0 } : { key: r.pk, status: 'failed' as const, failure, sends: 1 },
      );
      return { result: { rows, apiCalls: opened.apiCalls, fatal: stops ? failure : null }, jobId: undefined };
    }
    await recordBulkJob(
      store,
      {
        jobId: opened.jobId,
        syncName: settings.target.sync.name,
        runId: settings.runId,
        op: task.op,
        fromSeq: batch[0].seq,
        toSeq: batch.at(-1)!.seq,
      },
      settings.commitPolicy.now(),
    );
    const job = { step: 'run' as const, jobId: opened.jobId, restBatchSize: settings.batchSize };
    const result = (await pool.run({ ...task, job })) as DeliveryResult;
    return { result: { ...result, apiCalls: result.apiCalls + opened.apiCalls }, jobId: result.jobSettled ? opened.jobId : undefined };
  };

  let readAhead: Promise<PlannedRow[]> | undefined;
  try {
    // Each page costs two statements over the plan table (mark pending, read) whatever its size; pages
    // of at least 10,000 rows keep that under a few percent of the run. Memory: a page of 2.5 kB rows is 25 MB.
    // Under jobs a page is one job's rows: the job cannot take rows from two pages.
    const pageSize = jobRows ?? Math.max(settings.batchSize * settings.concurrency * 4, 10_000);
    await notePendingBefore(store, settings.target.sync.name);
    // The next page is read while this one's batches go out: read after the last batch left, the window
    // emptied while the state store's one connection read it behind the commits (100k rows at 0 ms: 10
    // pages of 44 ms). Its keys are marked pending only once it is taken, before its first batch leaves:
    // marked ahead, a run that stops early (a call limit, a cancel) would leave a page it never sent as
    // maybe sent, and mirror mode would delete those rows once they left the model.
    for (let after = 0; after < settings.planned && !stopped; after += pageSize) {
      const page = await (readAhead ?? readPlanPage(store, after, pageSize));
      // Queued on the connection ahead of the next page's read, which then overlaps the sends.
      const marked = markPending(store, settings.target.sync.name, settings.runId, after, pageSize);
      // Two pages at once only while they are small: under jobs a page is a job's rows (up to 100,000),
      // and 10,000 wide rows are 25 MB (the 200k wide-row bench peaked at 961-1003 MiB with one).
      const ahead = jobRows === null && after + pageSize < settings.planned && payloadChars(page) < READ_AHEAD_CHARS;
      readAhead = ahead ? readPlanPage(store, after + pageSize, pageSize) : undefined;
      // Handled here, so a failure while this page is sent is not an unhandled rejection; awaited above or below.
      readAhead?.catch(() => {});
      await marked;
      await send(cutBatches(page, jobRows ?? settings.batchSize, settings.target.sync.mode));
      if (committer.error) break;
    }
    // Rows held back by a heal, and batches the gate sent back, that came back after the last batch
    // left: sent once the heal is done.
    const drained = async (): Promise<void> => {
      await sendWindow.allSettled();
      await healer.settled();
      if ((healer.holding === 0 && unsent.length === 0) || stopped || committer.error) return;
      if (healer.holding > 0) await send(cutBatches(healer.takeHeld(), settings.batchSize, settings.target.sync.mode));
      else await send(unsent.splice(0));
      return drained();
    };
    // A failed commit does not wait for the sends still on the wire: their rows could not be committed.
    const settled = drained().then(() => committer.flush());
    await Promise.race([settled, committer.failed]);
    if (!committer.error) {
      await capDuckDBMemory(store, 'plan');
      planCap = true;
      await settleSnapshotLog(store, settings.target.sync.name);
    }
  } finally {
    // A page read ahead and not sent: its read ends before the run's tables go.
    await readAhead?.catch(() => {});
    settings.signal.removeEventListener('abort', onAbort);
    // Sends still on the wire (a failed commit, a state error) could never be committed: they end
    // with their threads, as under a kill, and the next run re-sends their rows.
    if (sendWindow.onWire > 0) await settings.workerPools.discard(pool);
    else settings.workerPools.release(pool);
    // Whatever stopped the run, a commit still running must end before the caller closes the run.
    await committer.flush();
    // The send cap is the DuckDB instance's: a failed run must not leave it to the next
    // plan, or to the syncs `serve` runs beside it. A state store that is gone keeps none.
    if (!planCap) await capDuckDBMemory(store, 'plan').catch(() => {});
  }
  if (committer.error) throw committer.error;
  if (crash) throw crash;
  totals.cancelled = settings.signal.aborted && !totals.fatal && !totals.quota;
  return totals;
}

/** A page's payload characters up to which the next page is read while it is sent: 10,000 rows of 800. */
const READ_AHEAD_CHARS = 8_000_000;

function payloadChars(page: PlannedRow[]): number {
  let chars = 0;
  for (const row of page) chars += row.payload?.length ?? 0;
  return chars;
}

/** Commits a group of outcomes through the session the run holds its lock on, then counts them. */
async function commitOutcomes(store: StateStore, settings: ExecuteSettings, outcomes: BatchOutcome[], totals: RunTotals) {
  try {
    await settings.stateSession.assertAlive();
    await commitBatches(store, settings.runId, settings.target.sync.name, outcomes, settings.redact, settings.commitPolicy);
  } catch (error) {
    const explained = await settings.stateSession.explain(error);
    if (explained instanceof StateConnectionLost) throw explained;
    throw new Error(`the state store refused a commit: ${oneLine((error as Error)?.message ?? String(error))}`, { cause: error });
  }
  for (const outcome of outcomes) {
    totals.succeeded += outcome.plain?.length ?? 0;
    for (const row of outcome.delivered) {
      if (row.status === 'succeeded') totals.succeeded++;
      else if (row.status === 'failed') totals.failed++;
      else totals.aborted++;
    }
    totals.apiCalls += outcome.apiCalls;
  }
  settings.onCommit?.(totals);
}
