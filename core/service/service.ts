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
import { releaseFailedRows, type RetrySelection } from '../run/manual-retry.js';
import { syncIssues } from '../run/sync-issues.js';
import { LOOPBACK_HOSTS } from '../config/project-file.js';
import { recordAction } from '../state/health-store.js';
import { answeredRun, closeInterruptedRuns, closeRun, newRunId, openRun } from '../state/run-log.js';
import { queryState } from '../state/state-query.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { systemClock, type Clock } from '../schedule/clock.js';
import type { RunReason, SchedulerEvent } from '../schedule/scheduler-event.js';
import { Scheduler } from '../schedule/scheduler.js';
import { Fleet, type FleetJob } from './fleet.js';
import { runExtract } from '../extract/run-extract.js';
import { extractLastStarts, extractPausedMessage, extractStatuses, resumeExtract } from '../extract/extract-status.js';
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

/** Extracts share the scheduler with syncs, under this prefix (a sync file cannot be named with a colon on every system). */
const EXTRACT = 'extract:';
const isExtract = (name: string) => name.startsWith(EXTRACT);

/** Last statuses after which a sync runs again at start: a killed process, or a stop that cancelled it. */
const UNFINISHED = new Set(['running', 'cancelled']);

export class Service {
  private readonly project: ProjectConfig;
  /** The scheduler's clock, which the runs read too (which rows are due, the instants they record). */
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly metrics: ServiceMetrics;
  private readonly handles = new Set<RunHandle>();
  private readonly running = new Set<string>();
  private readonly startedAt = new Date();
  private readonly app;
  private store: StateStore | null = null;
  private stopping: Promise<void> | null = null;
  /** PostgreSQL state: runs go through the fleet's queue (core/service/fleet.ts); null on DuckDB. */
  private fleet: Fleet | null = null;
  /** The slot each sync's latest `due` event announced, claimed by the run it triggers (fleet only). */
  private readonly dueSlots = new Map<string, Date>();

  constructor(private readonly options: ServiceOptions) {
    this.project = options.project;
    this.clock = options.clock ?? systemClock;
    const syncs = Object.values(this.project.syncs);
    this.metrics = new ServiceMetrics(
      () => this.failedRowCounts(),
      syncs.map((s) => s.name),
    );
    const extracts = Object.values(this.project.extracts);
    this.scheduler = new Scheduler({
      syncs: [
        ...syncs.map((s) => ({ name: s.name, schedule: s.schedule })),
        ...extracts.map((e) => ({ name: `${EXTRACT}${e.name}`, schedule: e.schedule })),
      ],
      clock: this.clock,
      maxParallel: this.project.service.maxParallel,
      // Extracts run here even in a fleet: a second process reading the same records lands them once (upsert on Id).
      runSync: (name, reason) =>
        isExtract(name)
          ? this.runExtract(name.slice(EXTRACT.length))
          : this.fleet
            ? this.enqueueInFleet(name, reason, this.takeDueSlot(name, reason))
            : this.runSync(name, reason),
      skipReason: async (name) =>
        this.store
          ? isExtract(name)
            ? extractPausedMessage(this.store, name.slice(EXTRACT.length))
            : pausedMessage(this.store, name)
          : null,
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
      trigger: async (name) => {
        const outcome = await this.trigger(name);
        if (outcome !== 'stopped') await this.recordAction(name, 'trigger', `run now: ${outcome}`);
        return outcome;
      },
      project: this.project,
      loopback: LOOPBACK_HOSTS.includes(options.host),
      token: this.project.service.token,
      db: () => {
        if (!this.store) throw Object.assign(new Error('the service has not opened its state store yet'), { statusCode: 503 });
        return this.store.db;
      },
      issues: (sync) => syncIssues(this.project, sync === undefined ? [] : [sync]),
      retry: (name, selection, action) => this.retry(name, selection, action),
      pause: (name, reason) =>
        changePause({
          project: this.project,
          sync: this.project.syncs[name],
          pause: reason === null ? null : { by: 'person', reason },
          alerts: options.controller.alerts,
          emit: options.onRunEvent,
          now: this.clock.now(),
          store: this.store ?? undefined,
        }),
      metrics: async () => ({ contentType: this.metrics.registry.contentType, text: await this.metrics.registry.metrics() }),
      extracts: () => this.extracts(),
      hasExtract: (name) => Object.hasOwn(this.project.extracts, name),
      triggerExtract: (name) => this.scheduler.trigger(`${EXTRACT}${name}`, 'manual'),
      resumeExtract: (name) => resumeExtract(this.project, name, this.clock.now(), this.store ?? undefined),
    });
  }

  /** A manual run, through the scheduler (or the fleet's queue), as `run` through the API does. */
  private trigger(name: string) {
    return this.fleet && this.stopping === null ? this.enqueueInFleet(name, 'manual', null) : this.scheduler.trigger(name, 'manual');
  }

  /** `retry`'s path (releaseFailedRows), then a manual run through the scheduler instead of a run of its own. */
  private async retry(
    name: string,
    selection: RetrySelection,
    action: 'retry' | 'unblock',
  ): Promise<{ rows: number; outcome: string | null }> {
    if (!this.store || this.stopping !== null) throw Object.assign(new Error('the service is stopping'), { statusCode: 503 });
    const rows = await releaseFailedRows(this.store, name, selection, { action, at: this.clock.now() });
    if (rows.length === 0) return { rows: 0, outcome: null };
    return { rows: rows.length, outcome: await this.trigger(name) };
  }

  private async recordAction(name: string, action: 'trigger', reason: string): Promise<void> {
    if (this.store) await recordAction(this.store.db, { sync: name, action, reason, at: this.clock.now() });
  }

  /** Opens the state store, listens, writes `.hightouch-like/service.json`, then arms the schedules. */
  async start(): Promise<{ host: string; port: number }> {
    this.store = await openStateStore(this.project, { readOnly: false });
    const { lastStartedAt, rerun } = await this.recoverRuns(this.store);
    const state = this.project.state;
    if (state.type === 'postgres') {
      const fleet = new Fleet({
        project: { ...this.project, state },
        store: this.store,
        runJob: (name, reason, job) => this.runJob(name, reason as RunReason, job),
        onError: (error) => this.options.log('queue_error', { error: redact(oneLine(error.message), this.project.secrets) }, 'warn'),
      });
      try {
        await fleet.start();
      } catch (error) {
        await this.store.close();
        throw error;
      }
      this.fleet = fleet;
    }
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
      ...(this.fleet ? { queue: 'pg-boss', takeover_seconds: this.fleet.timing.worstCaseSeconds } : {}),
    });
    const extractStarts = await extractLastStarts(this.store, Object.keys(this.project.extracts));
    for (const [name, at] of Object.entries(extractStarts)) lastStartedAt[`${EXTRACT}${name}`] = at;
    this.scheduler.start(lastStartedAt);
    for (const name of rerun) {
      // In a fleet every process sees the unfinished run: the claim of its start time lets one rerun it.
      if (this.fleet) this.dueSlots.set(name, lastStartedAt[name]);
      this.scheduler.trigger(name, 'missed');
    }
    return { host: this.options.host, port };
  }

  /** Starts nothing more, cancels running runs (in-flight batches are committed), closes everything. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.options.log('service_stopping', { running: [...this.running] });
      const stopped = this.scheduler.stop();
      for (const handle of this.handles) handle.cancel();
      await stopped;
      await this.fleet?.stop();
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

  /** The slot a scheduled or missed run claims; manual runs claim none. */
  private takeDueSlot(name: string, reason: RunReason): Date | null {
    const slot = this.dueSlots.get(name) ?? null;
    this.dueSlots.delete(name);
    return reason === 'manual' ? null : slot;
  }

  /** Fleet: enqueues a run, after winning its slot when it has one; the Scheduler sees it end at once. */
  private async enqueueInFleet(name: string, reason: RunReason, slot: Date | null): Promise<'queued' | 'coalesced'> {
    const fleet = this.fleet!;
    if (slot && !(await fleet.claimSlot(name, slot))) {
      this.options.log('schedule_claimed_elsewhere', { sync: name, slot: slot.toISOString() });
      return 'coalesced';
    }
    const outcome = await fleet.enqueue(name, reason);
    if (outcome === 'coalesced') this.metrics.onSchedulerEvent({ type: 'coalesced', sync: name, at: new Date(), reason });
    this.options.log('schedule_enqueued', { sync: name, reason, outcome, ...(slot ? { slot: slot.toISOString() } : {}) });
    return outcome;
  }

  /**
   * Fleet: runs a job of the queue. Rejecting makes pg-boss retry it later, maybe on another process:
   * when this process is full, when the sync still runs (here or elsewhere, e.g. after its job
   * expired), and when a stop cancelled the run, so a live process finishes it.
   */
  private async runJob(name: string, reason: RunReason, job: FleetJob): Promise<void> {
    if (this.stopping !== null) throw new Error('the service is stopping');
    if (this.running.size >= this.project.service.maxParallel)
      throw new Error(`max_parallel (${this.project.service.maxParallel}) runs are going here`);
    // A retried job whose first attempt's run has finished (it outlived its expiry, or pg-boss could not
    // mark it complete) was answered: running the sync again would make one trigger two runs.
    const answered = job.retryCount > 0 && this.store ? await answeredRun(this.store.db, job.id) : undefined;
    if (answered) {
      this.options.log('job_already_answered', { sync: name, reason, run_id: answered.run_id, status: answered.status });
      return;
    }
    this.options.log('job_started', { sync: name, reason });
    const started = Date.now();
    this.metrics.onSchedulerEvent({ type: 'started', sync: name, at: new Date(started), reason });
    let outcome: string | undefined;
    try {
      outcome = await this.runSync(name, reason, job.id);
    } finally {
      this.metrics.onSchedulerEvent({ type: 'finished', sync: name, at: new Date(), reason, duration_ms: Date.now() - started });
    }
    this.options.log('job_finished', { sync: name, reason, status: outcome ?? 'not_started', duration_ms: Date.now() - started });
    if (outcome === 'cancelled' && this.stopping !== null) throw new Error('the run was cancelled by a stop');
  }

  /** Runs an extract here, with the scheduler's clock; its outcome is in `extract_runs`. */
  private async runExtract(name: string): Promise<string> {
    this.running.add(`${EXTRACT}${name}`);
    try {
      const report = await runExtract(
        {
          project: this.project,
          now: () => this.clock.now(),
          alerts: this.options.controller.alerts,
          emit: (event) => this.options.log(String(event.type ?? 'extract_event'), { ...event }),
        },
        name,
      );
      return report.status;
    } catch (error) {
      this.options.log(
        'extract_not_started',
        { extract: name, error: redact(oneLine((error as Error)?.message ?? String(error)), this.project.secrets) },
        'warn',
      );
      return 'failed';
    } finally {
      this.running.delete(`${EXTRACT}${name}`);
    }
  }

  /** `GET /api/extracts`: status with the scheduler's next runs. */
  private async extracts(): Promise<unknown[]> {
    const statuses = await extractStatuses(this.project, this.clock.now());
    return statuses.map((s) => ({
      ...s,
      next_run_at: this.scheduler.nextRunAt(`${EXTRACT}${s.extract}`)?.toISOString() ?? null,
      running: this.running.has(`${EXTRACT}${s.extract}`),
    }));
  }

  /** Runs a sync here; `triggerId` (fleet) makes a refusal throw, so pg-boss retries the job later. */
  private async runSync(name: string, reason: RunReason, triggerId?: string): Promise<string | undefined> {
    const started = Date.now();
    const handle = this.options.controller.start(this.project, {
      syncs: [name],
      onEvent: this.options.onRunEvent,
      triggerId,
      clock: this.clock,
    });
    this.handles.add(handle);
    this.running.add(name);
    try {
      const result = await handle.result;
      for (const report of result.reports) this.metrics.onReport(report);
      return result.status;
    } catch (error) {
      if (triggerId !== undefined && /is already running/.test((error as Error)?.message ?? '')) {
        this.options.log('run_refused', { sync: name, reason, error: redact(oneLine((error as Error).message), this.project.secrets) });
        throw error;
      }
      await this.recordRunThatDidNotStart(name, reason, error, started, triggerId);
      return undefined;
    } finally {
      this.handles.delete(handle);
      this.running.delete(name);
    }
  }

  /**
   * A run that could not start (a destination that does not answer, a model error) is recorded as a
   * failed run, so `status`, `/api/runs` and the metrics show why nothing moved; the service carries on.
   */
  private async recordRunThatDidNotStart(
    name: string,
    reason: RunReason,
    error: unknown,
    started: number,
    triggerId?: string,
  ): Promise<void> {
    const text = error instanceof UserError ? error.format() : oneLine((error as Error)?.message ?? String(error));
    const message = redact(text, this.project.secrets);
    this.options.log('run_not_started', { sync: name, reason, error: message }, 'warn');
    this.metrics.onRefused(name, Date.now() - started);
    // Another process running the sync (PostgreSQL state) is not a failure of this sync.
    if (!this.store || /is already running/.test(message)) return;
    const runId = newRunId();
    try {
      const nothing = { added: 0, changed: 0, removed: 0, retrying: 0, invalid: 0, planned: 0 };
      await openRun(this.store.db, runId, name, nothing, false, this.clock.now(), triggerId ?? null);
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
    if (this.fleet && event.type === 'due') this.dueSlots.set(event.sync, event.slot);
    // In a fleet the scheduler's runs only enqueue: runJob counts the real ones.
    if (!this.fleet || (event.type !== 'started' && event.type !== 'finished')) this.metrics.onSchedulerEvent(event);
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
