/**
 * Runs from a program: the CLI, a scheduler or a web server starts a run of one or several syncs,
 * watches its events, may cancel it, and reads its result. The controller owns the write threads, so
 * every run of the process reuses them; `close()` ends them.
 *
 * Cancelling is what SIGINT/SIGTERM do to `run`: no further batch or sync starts, batches in flight
 * finish and are committed, and the run is recorded `cancelled`.
 */
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { redact } from '../../shared/redact.js';
import { UserError } from '../../shared/errors.js';
import { WorkerPools, type PoolStats } from '../execute/worker-pool.js';
import { AlertDispatcher, type DispatcherOptions } from '../alert/dispatcher.js';
import type { RunEvent, RunListener } from './events.js';
import { runSyncs, type RunOptions } from './run-sync.js';
import { selectSyncs } from './select-syncs.js';
import type { SyncReport } from './sync-report.js';

export interface StartOptions extends RunOptions {
  /** The syncs to run, by name, in this order. */
  syncs?: string[];
  /** Every sync of the project instead. */
  all?: boolean;
  /** Called with every event, from the first on. */
  onEvent?: RunListener;
  /** Cancels the run when aborted, as `cancel()` does. */
  signal?: AbortSignal;
}

/**
 * `planned` for a dry run; otherwise the worst of the syncs' statuses: failed, then cancelled, then
 * completed_with_errors, then deferred (`run` exits 1, 1, 2, 3), else succeeded (exits 0).
 */
export type RunOutcome = 'planned' | 'succeeded' | 'completed_with_errors' | 'failed' | 'cancelled' | 'deferred';

export interface RunResult {
  status: RunOutcome;
  /** One per sync that started, in order; a cancelled run starts no further sync. */
  reports: SyncReport[];
}

export interface RunHandle {
  /**
   * Settles when the run has ended and its state store is closed. Rejects only when the run could not
   * start or record its end: bad input (a `UserError`), an unreachable warehouse or state store, a sync
   * already running elsewhere. A sync that failed resolves, with status `failed`.
   */
  readonly result: Promise<RunResult>;
  /** Adds a listener; returns its removal. */
  subscribe(listener: RunListener): () => void;
  /** Stops the run politely (idempotent). */
  cancel(): void;
}

/** Events leave the controller masked: a listener may log them as they are. */
function masked<T>(value: T, secrets: string[]): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => masked(v, secrets)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, secrets)])) as T;
  }
  return value;
}

function outcomeOf(reports: SyncReport[], dryRun: boolean): RunOutcome {
  if (dryRun) return 'planned';
  for (const status of ['failed', 'cancelled', 'completed_with_errors', 'deferred'] as const) {
    if (reports.some((r) => r.status === status)) return status;
  }
  return 'succeeded';
}

export interface ControllerOptions {
  /** The time of health changes and alerts; default the system clock. */
  now?(): Date;
  /** How a delivery waits between attempts; default real time. */
  alertSleep?: DispatcherOptions['sleep'];
}

/**
 * How long `close()` waits for notifications still being delivered: the default retry policy's 5
 * attempts take about 15 s of backoff. What is left then stays `pending` in `alert_deliveries`.
 */
export const ALERT_FLUSH_MS = 20_000;

export class RunController {
  private readonly workerPools = new WorkerPools();
  /** Notifications of every run of the process; `close()` waits for them, within ALERT_FLUSH_MS. */
  readonly alerts: AlertDispatcher;
  readonly now: () => Date;
  private readonly active = new Set<RunHandle>();
  /**
   * Syncs of this process's runs, by state store and name. The sync lock of a DuckDB state store is its
   * file lock, which one process holds for all its runs: two runs of one sync here would both get through.
   */
  private readonly runningSyncs = new Set<string>();

  constructor(options: ControllerOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.alerts = new AlertDispatcher({ sleep: options.alertSleep, now: this.now });
  }

  /**
   * Starts a run of `project` (from `loadProject`). Syncs run one after the other, each in its own
   * `sync_runs` row.
   */
  start(project: ProjectConfig, options: StartOptions = {}): RunHandle {
    const abort = new AbortController();
    const listeners = new Set<RunListener>();
    if (options.onEvent) listeners.add(options.onEvent);
    const emit = (event: RunEvent) => {
      const clean = masked(event, project.secrets);
      for (const listener of listeners) listener(clean);
    };
    const cancel = () => abort.abort();
    if (options.signal?.aborted) cancel();
    options.signal?.addEventListener('abort', cancel, { once: true });

    const result = (async () => {
      try {
        const syncs = selectSyncs(project, options.syncs ?? [], !!options.all);
        const claimed = this.claim(project, syncs);
        try {
          const reports = await runSyncs(
            { project, options, emit, workerPools: this.workerPools, signal: abort.signal, alerts: this.alerts, now: this.now },
            syncs,
          );
          return { status: outcomeOf(reports, !!options.dryRun), reports };
        } finally {
          claimed.forEach((key) => this.runningSyncs.delete(key));
        }
      } finally {
        options.signal?.removeEventListener('abort', cancel);
      }
    })();
    const handle: RunHandle = {
      result,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      cancel,
    };
    this.active.add(handle);
    const forget = () => this.active.delete(handle);
    result.then(forget, forget);
    return handle;
  }

  /** Marks the syncs running, or refuses them all if one is already running in this process. */
  private claim(project: ProjectConfig, syncs: SyncConfig[]): string[] {
    const keys = syncs.map((sync) => JSON.stringify([project.state, sync.name]));
    const busy = syncs.find((_, i) => this.runningSyncs.has(keys[i]));
    if (busy) {
      throw new UserError(`sync ${busy.name} is already running in this process`, {
        file: busy.file,
        hint: 'wait for that run to finish; a sync never runs twice at once.',
      });
    }
    keys.forEach((key) => this.runningSyncs.add(key));
    return keys;
  }

  /** Starts a run and waits for its result. */
  run(project: ProjectConfig, options: StartOptions = {}): Promise<RunResult> {
    return this.start(project, options).result;
  }

  /** The write-thread pools, one per shape, with the tasks each has run: a second run of a shape adds no pool. */
  poolStats(): { created: number; pools: PoolStats[] } {
    return { created: this.workerPools.created, pools: this.workerPools.stats() };
  }

  /** Cancels the runs still going, waits for them to end, ends the write threads, and lets notifications go out (bounded). */
  async close(flushMs = ALERT_FLUSH_MS): Promise<void> {
    const running = [...this.active];
    running.forEach((run) => run.cancel());
    await Promise.allSettled(running.map((run) => run.result));
    await this.workerPools.close();
    await this.alerts.flush(flushMs);
  }
}
