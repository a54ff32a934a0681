/**
 * The write threads, owned across runs: one piscina pool per shape (threads, write calls per thread),
 * created on first use and kept until `close()`. A process that runs syncs again and again (a
 * scheduler, a web server) then starts its threads once, not once per run: starting 2 threads and
 * loading the connectors in them took about 230 ms here, more than a run of a few changed rows.
 *
 * A thread keeps its destination clients between runs (see write-worker.ts); they go with the pool.
 *
 * A pool serves one run at a time (`poolFor` … `release`): runs going on at once (`serve` with
 * `scheduler.max_parallel` 2) each get a pool of their own, so a destination that holds its answers
 * cannot queue another sync's calls behind its own, and a run that discards its pool (sends left on
 * the wire) ends no other run's sends. Pools are kept and reused, up to one per shape per concurrent run.
 */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { lazyRequire } from '../../shared/lazy-require.js';
import { QUEUED_PER_CALL } from './send-gate.js';

// A `plan` or `validate` never starts a write thread.
const piscina = lazyRequire<typeof import('piscina')>('piscina');

export interface PoolShape {
  workers: number;
  tasksPerWorker: number;
}

/** The pool a run's settings need: `concurrency` calls spread over `workers` threads. */
export function poolShape(settings: { concurrency: number; workers: number }): PoolShape {
  return { workers: settings.workers, tasksPerWorker: Math.ceil(settings.concurrency / settings.workers) };
}

/**
 * A pool is for one shape and one destination type: its threads load that type's client library as
 * they start (`DestinationConnector.preload`: jsforce took 310 ms at a thread's first connect).
 */
const poolId = (shape: PoolShape, destinationType: string | null) => `${shape.workers}x${shape.tasksPerWorker}:${destinationType ?? ''}`;

export interface PoolStats extends PoolShape {
  /** Write tasks the pool has finished, across every run that used it. */
  completed: number;
  /** The destination type whose client the threads loaded as they started, if any. */
  preload: string | null;
}

/**
 * The old-generation cap of each write thread. Past it the thread dies with ERR_WORKER_OUT_OF_MEMORY,
 * piscina rejects its tasks with that error, and the run stops as failed with those rows unsettled (the
 * next run sends them again); without a cap V8 sizes each thread's heap up to 4 GB. The largest task is
 * a Bulk API job: 100,000 rows as text, parsed, as CSV cells and as the CSV upload. Measured with the
 * bench's narrow rows (~250 B): a job fails at 128 MB and fits in 256 MB, so rows of ~1 kB need about
 * 1 GB, and two jobs may share a thread: 2 GB. What keeps the heaps small is heap-growth.ts, not this.
 * Override with HIGHTOUCH_LIKE_WRITE_THREAD_HEAP_MB.
 */
export const WRITE_THREAD_HEAP_MB = Number(process.env.HIGHTOUCH_LIKE_WRITE_THREAD_HEAP_MB) || 2048;

/** Vitest runs the TypeScript sources; worker threads always load the compiled module. */
function workerFilename(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return here.replace(/worker-pool\.js$/, 'write-worker-entry.cjs');
  return here.replace(/([\\/])core[\\/]execute[\\/]worker-pool\.ts$/, '$1dist$1core$1execute$1write-worker-entry.cjs');
}

export class WorkerPools {
  private readonly pools: Array<{ id: string; shape: PoolShape; preload: string | null; pool: Piscina; busy: boolean }> = [];
  private closed = false;
  /** Pools started so far, discarded ones included: a second run of the same shape adds none. */
  created = 0;

  /** An idle pool of this shape and destination type, else a new one, for one run until `release` (or `discard`). */
  poolFor(shape: PoolShape, destinationType: string | null = null): Piscina {
    if (this.closed) throw new Error('the worker pools are closed');
    const entry = this.idle(shape, destinationType) ?? this.create(shape, destinationType);
    entry.busy = true;
    return entry.pool;
  }

  /**
   * Starts an idle pool of this shape unless one is idle already, so that its threads load while the
   * run plans (about 230 ms here, else paid before the first send; a run that plans nothing leaves it
   * idle for the next).
   */
  warm(shape: PoolShape, destinationType: string | null = null): void {
    if (!this.closed && !this.idle(shape, destinationType)) this.create(shape, destinationType);
  }

  private idle(shape: PoolShape, destinationType: string | null) {
    return this.pools.find((e) => e.id === poolId(shape, destinationType) && !e.busy);
  }

  private create(shape: PoolShape, destinationType: string | null) {
    const pool = new (piscina().Piscina)({
      // Read by write-worker-entry.cts as the thread starts.
      workerData: { preload: destinationType },
      filename: workerFilename(),
      minThreads: shape.workers,
      maxThreads: shape.workers,
      // Room for the batches queued behind each call (send-gate.ts).
      concurrentTasksPerWorker: shape.tasksPerWorker * QUEUED_PER_CALL,
      // An idle thread waits for its next task with Atomics.waitAsync, not Atomics.wait: a blocking wait
      // stopped the thread's event loop, so the modules it began loading as it started (the connectors,
      // write-worker-entry.cts, and its destination's client, `preload`) loaded only once the first
      // batch came. Salesforce at 50 ms, 100k rows: send phase 11.1-11.4 s -> 9.9-10.1 s.
      atomics: 'async',
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: WRITE_THREAD_HEAP_MB },
    });
    // Piscina emits 'error' for what no task can take: the answer of a task its pool was destroyed under
    // (`discard`: a thread's answer already posted when it was terminated, seen in a run whose commit
    // failed with a send on the wire) and a thread that failed with no task. With no listener, Node throws
    // it: the process (a `serve` with other syncs running) would crash. Neither loses a row: the discarded
    // run's rows are unsettled and sent again, and piscina replaces a failed idle thread.
    pool.on('error', () => {});
    const entry = { id: poolId(shape, destinationType), shape: { ...shape }, preload: destinationType, pool, busy: false };
    this.pools.push(entry);
    this.created++;
    return entry;
  }

  /** The run is done with `pool`: the next run of its shape reuses it. */
  release(pool: Piscina): void {
    const entry = this.pools.find((e) => e.pool === pool);
    if (entry) entry.busy = false;
  }

  /**
   * Ends a pool whose tasks must not outlive their run (a run that stopped with sends on the wire):
   * its threads are terminated, as a kill would end them, and the next run of that shape starts a new one.
   */
  async discard(pool: Piscina): Promise<void> {
    const index = this.pools.findIndex((e) => e.pool === pool);
    if (index >= 0) this.pools.splice(index, 1);
    await pool.destroy();
  }

  stats(): PoolStats[] {
    return this.pools.map(({ shape, preload, pool }) => ({ ...shape, completed: pool.completed, preload }));
  }

  /** Terminates every thread; no run may be in progress. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = this.pools.splice(0);
    await Promise.all(pools.map(({ pool }) => pool.destroy()));
  }
}
