/**
 * `serve` on one machine: the Scheduler starts each sync on its schedule through one RunController
 * (whose write threads every run shares), an HTTP API answers status, queries and manual triggers, and
 * Prometheus metrics count what happened.
 *
 * - The state store stays open for the service's life: a DuckDB file is then locked to this process,
 *   and concurrent runs get connections of the one instance (core/db/duckdb-instances.ts), each with
 *   its own temp tables; on PostgreSQL each run has its own connection anyway.
 * - At start, runs a killed process left `running` are marked failed, and their syncs run again; so do
 *   syncs whose last run this service's stop cancelled, and syncs that missed a slot (once each).
 * - `stop()`: nothing new starts; running runs are cancelled the controller's way (in-flight batches
 *   finish and are committed, the run is recorded `cancelled`), and the next start runs them again.
 */
import type { AddressInfo } from 'node:net';
import type { ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';
import type { RunController, RunHandle } from '../run/controller.js';
import type { RunListener } from '../run/events.js';
import { syncStatuses } from '../run/status.js';
import { changePause, pausedMessage } from '../run/pause.js';
import { closeInterruptedRuns, closeRun, newRunId, openRun } from '../state/run-log.js';
import { queryState } from '../state/state-query.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { systemClock, type Clock } from '../schedule/clock.js';
import type { RunReason, SchedulerEvent } from '../schedule/scheduler-event.js';
import { Scheduler } from '../schedule/scheduler.js';
import { buildHttpApi } from './http-api.js';
import { ServiceMetrics } from './metrics.js';
import { removeServiceFile, writeServiceFile } from './service-file.js';

export type ServiceLog = (msg: string, fields: Record<string, unknown>, level?: 'info' | 'warn') => void;

export interface ServiceOptions {
  project: ProjectConfig;
  controller: RunController;
  host: string;
  port: number;
  clock?: Clock;
  /** Every run event, already masked. */
  onRunEvent: RunListener;
  log: ServiceLog;
}

/** Last statuses after which a sync runs again at start: a killed process, or a stop that cancelled it. */
const UNFINISHED = new Set(['running', 'cancelled']);

export class Service {
  private readonly project: ProjectConfig;
  private readonly scheduler: Scheduler;
  private readonly metrics: ServiceMetrics;
  private readonly handles = new Set<RunHandle>();
  private readonly running = new Set<string>();
  private readonly startedAt = new Date();
  private readonly app;
  private store: StateStore | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: ServiceOptions) {
    this.project = options.project;
    const syncs = Object.values(this.project.syncs);
    this.metrics = new ServiceMetrics(
      () => this.failedRowCounts(),
      syncs.map((s) => s.name),
    );
    this.scheduler = new Scheduler({
      syncs: syncs.map((s) => ({ name: s.name, schedule: s.schedule })),
      clock: options.clock ?? systemClock,
      maxParallel: this.project.service.maxParallel,
      runSync: (name, reason) => this.runSync(name, reason),
      skipReason: async (name) => (this.store ? pausedMessage(this.store, name) : null),
      onEvent: (event) => this.onSchedulerEvent(event),
    });
    this.app = buildHttpApi({
      secrets: this.project.secrets,
      healthy: () => this.stopping === null,
      health: () => ({
        status: this.stopping === null ? 'ok' : 'stopping',
        pid: process.pid,
        started_at: this.startedAt.toISOString(),
        running: [...this.running],
      }),
      syncs: () => this.syncs(),
      hasSync: (name) => Object.hasOwn(this.project.syncs, name),
      runs: (sync, limit) => this.runs(sync, limit),
      query: (text) => queryState(this.project, text),
      trigger: (name) => this.scheduler.trigger(name, 'manual'),
      pause: (name, reason) =>
        changePause({
          project: this.project,
          sync: this.project.syncs[name],
          pause: reason === null ? null : { by: 'person', reason },
          alerts: options.controller.alerts,
          emit: options.onRunEvent,
          now: options.controller.now(),
          store: this.store ?? undefined,
        }),
      metrics: async () => ({ contentType: this.metrics.registry.contentType, text: await this.metrics.registry.metrics() }),
    });
  }

  /** Opens the state store, listens, writes `.hightouch-like/service.json`, then arms the schedules. */
  async start(): Promise<{ host: string; port: number }> {
    this.store = await openStateStore(this.project, { readOnly: false });
    const { lastStartedAt, rerun } = await this.recoverRuns(this.store);
    try {
      await this.app.listen({ host: this.options.host, port: this.options.port });
    } catch (error) {
      await this.store.close();
      throw new UserError(`cannot listen on ${this.options.host}:${this.options.port}: ${oneLine((error as Error).message)}`, {
        field: 'service.port',
        hint: 'pick a free port with --port or service.port (0 lets the system pick).',
      });
    }
    const port = (this.app.server.address() as AddressInfo).port;
    writeServiceFile(this.project.dir, { pid: process.pid, host: this.options.host, port, started_at: this.startedAt.toISOString() });
    this.options.log('service_listening', {
      host: this.options.host,
      port,
      pid: process.pid,
      max_parallel: this.project.service.maxParallel,
      syncs: Object.keys(this.project.syncs),
    });
    this.scheduler.start(lastStartedAt);
    for (const name of rerun) this.scheduler.trigger(name, 'missed');
    return { host: this.options.host, port };
  }

  /** Starts nothing more, cancels running runs (in-flight batches are committed), closes everything. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.options.log('service_stopping', { running: [...this.running] });
      const stopped = this.scheduler.stop();
      for (const handle of this.handles) handle.cancel();
      await stopped;
      await this.app.close();
      await this.store?.close();
      removeServiceFile(this.project.dir);
      this.options.log('service_stopped', {});
    })();
    return this.stopping;
  }

  /**
   * Each sync's last run start (for missed slots), and the syncs to run again: those whose last run is
   * still `running` (marked failed here on DuckDB, where this process holds the file; on PostgreSQL the
   * run itself does it under the sync's lock, since another process may be running it) or `cancelled`.
   */
  private async recoverRuns(store: StateStore): Promise<{ lastStartedAt: Record<string, Date>; rerun: string[] }> {
    const lastStartedAt: Record<string, Date> = {};
    const rerun: string[] = [];
    for (const name of Object.keys(this.project.syncs)) {
      const last = await store.db
        .selectFrom('sync_runs')
        .select(['started_at', 'status'])
        .where('sync_name', '=', name)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!last) continue;
      lastStartedAt[name] = new Date(last.started_at);
      if (!UNFINISHED.has(last.status)) continue;
      if (last.status === 'running' && store.dialect === 'duckdb') await closeInterruptedRuns(store.db, name);
      this.options.log('run_resumed', { sync: name, last_status: last.status });
      rerun.push(name);
    }
    return { lastStartedAt, rerun };
  }

  private async runSync(name: string, reason: RunReason): Promise<void> {
    const started = Date.now();
    const handle = this.options.controller.start(this.project, { syncs: [name], onEvent: this.options.onRunEvent });
    this.handles.add(handle);
    this.running.add(name);
    try {
      const result = await handle.result;
      for (const report of result.reports) this.metrics.onReport(report);
    } catch (error) {
      await this.recordRunThatDidNotStart(name, reason, error, started);
    } finally {
      this.handles.delete(handle);
      this.running.delete(name);
    }
  }

  /**
   * A run that could not start (a destination that does not answer, a model error) is recorded as a
   * failed run, so `status`, `/api/runs` and the metrics show why nothing moved; the service carries on.
   */
  private async recordRunThatDidNotStart(name: string, reason: RunReason, error: unknown, started: number): Promise<void> {
    const text = error instanceof UserError ? error.format() : oneLine((error as Error)?.message ?? String(error));
    const message = redact(text, this.project.secrets);
    this.options.log('run_not_started', { sync: name, reason, error: message }, 'warn');
    this.metrics.onRefused(name, Date.now() - started);
    // Another process running the sync (PostgreSQL state) is not a failure of this sync.
    if (!this.store || /is already running/.test(message)) return;
    const runId = newRunId();
    try {
      await openRun(this.store.db, runId, name, { added: 0, changed: 0, removed: 0, retrying: 0, invalid: 0, planned: 0 }, false);
      await closeRun(this.store.db, runId, 'failed', message);
    } catch (recordError) {
      this.options.log(
        'run_not_recorded',
        { sync: name, error: redact(oneLine((recordError as Error).message), this.project.secrets) },
        'warn',
      );
    }
  }

  private onSchedulerEvent(event: SchedulerEvent): void {
    this.metrics.onSchedulerEvent(event);
    const { type, at, ...fields } = event;
    const extra: Record<string, unknown> = { ...fields };
    if ('slot' in event) extra.slot = event.slot.toISOString();
    this.options.log(`schedule_${type}`, extra, (type === 'finished' && event.error) || type === 'skipped' ? 'warn' : 'info');
  }

  /** `status`, with the scheduler's view: when each sync runs next, and whether it runs now. */
  private async syncs(): Promise<unknown[]> {
    const statuses = await syncStatuses(this.project);
    return statuses.map((s) => ({
      ...s,
      next_run_at: this.scheduler.nextRunAt(s.sync)?.toISOString() ?? null,
      running: this.running.has(s.sync),
    }));
  }

  private async runs(sync: string | undefined, limit: number): Promise<unknown[]> {
    const store = await openStateStore(this.project, { readOnly: true });
    try {
      let query = store.db.selectFrom('sync_runs').selectAll().orderBy('started_at', 'desc').orderBy('run_id', 'desc').limit(limit);
      if (sync !== undefined) query = query.where('sync_name', '=', sync);
      return await query.execute();
    } finally {
      await store.close();
    }
  }

  private async failedRowCounts(): Promise<Record<string, number>> {
    const store = await openStateStore(this.project, { readOnly: true });
    try {
      const rows = await store.db
        .selectFrom('failed_rows')
        .select(['sync_name', (eb) => eb.fn.countAll().as('n')])
        .groupBy('sync_name')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.sync_name, Number(r.n)]));
    } finally {
      await store.close();
    }
  }
}
