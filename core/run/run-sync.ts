/**
 * One run's worth of work over the pipeline: config (already loaded) → preflight → plan → execute →
 * state, sync after sync. A dry run (`plan`) stops after planning. Each sync stands alone: one that
 * fails its preflight is a failed run of its own, and the next sync runs.
 *
 * A sync's run has three steps, each its own function: open (plan, guard, a `sync_runs` row), execute
 * (send the plan), close (the run's status and report).
 */
import { existsSync } from 'node:fs';
import type { DestinationConnector, Failure } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { redact } from '../../shared/redact.js';
import { oneLine, UserError } from '../../shared/errors.js';
import { modelSqlError } from '../db/warehouse.js';
import { deleteGuard, refusalMessage } from '../plan/delete-guard.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { executePlan, type RunTotals } from '../execute/executor.js';
import { recoverBulkJobs } from '../execute/bulk-recovery.js';
import { mappingHash } from '../plan/planner.js';
import type { WorkerPools } from '../execute/worker-pool.js';
import { effectiveSettings, writeTarget } from '../config/write-target.js';
import { buildPlan, emptyPlanCounts, forgetSuperseded, type Plan } from '../plan/planner.js';
import { dropSettledFailures } from '../state/plan-table.js';
import { pruneHistory } from '../state/retention.js';
import { DestinationUnusable, preflightSyncs } from '../plan/preflight.js';
import { closeInterruptedRuns, closeRun, newRunId, openRun, recordMapping, type RunPlanCounts } from '../state/run-log.js';
import { storableText } from '../state/sanitize-text.js';
import { StateConnectionLost, watchStateSession, type StateSession } from '../state/state-session.js';
import type { RunStatus } from '../state/schema.js';
import type { RunListener } from './events.js';
import { failedByClass } from './failed-by-class.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import { healthOfRun, recordHealth } from './health.js';
import { pausedMessage } from './pause.js';
import type { PlanCounts, SyncReport } from './sync-report.js';
import { lockSync } from './sync-lock.js';

export interface RunOptions {
  fullResync?: boolean;
  /** Plan only: count, send nothing, write nothing. */
  dryRun?: boolean;
  /** Let a mirror run through the delete guard (`run --allow-deletes`). */
  allowDeletes?: boolean;
  /** Recorded in `sync_runs.trigger_id`: the queue job that asked for the run (core/service/fleet.ts). */
  triggerId?: string;
  /**
   * Where the run reads the time: which failed rows are due, the instants written to `sync_runs`,
   * `sync_changelog`, `failed_rows` and `sync_health`, what retention prunes. Default: the controller's
   * clock (the system's unless it was given one). A scheduler passes its own, tests a virtual one.
   */
  clock?: { now(): Date };
}

/** The run's clock: one for everything the run stamps, health and alerts included. */
function clockOf(context: RunContext): { now(): Date } {
  return context.options.clock ?? { now: context.now };
}

/** What every sync of a run shares. */
export interface RunContext {
  project: ProjectConfig;
  options: RunOptions;
  emit: RunListener;
  workerPools: WorkerPools;
  /** Aborted: in-flight batches finish and commit, no further batch or sync starts. */
  signal: AbortSignal;
  /** Sends the notifications a change of health decides, after it is committed. */
  alerts: AlertDispatcher;
  /** The controller's clock, for runs given none (RunOptions.clock). */
  now(): Date;
}

export async function runSyncs(context: RunContext, syncs: SyncConfig[]): Promise<SyncReport[]> {
  const { project, options } = context;
  // A sync whose checks fail is recorded as a failed run below and the others run; only what the whole
  // project shares (its warehouse, its state store) stops the command before anything is written.
  const failures = await preflightSyncs(project, syncs);
  // A dry run against a DuckDB state that does not exist yet plans as if nothing was synced, in an
  // in-memory store, so `plan` never creates the file. Against an existing one it may migrate it and fold
  // the snapshot log (the same content, README "CLI").
  const absent = options.dryRun && project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path);
  const planned = absent ? { ...project, state: { type: 'duckdb' as const, path: ':memory:' } } : project;
  const store = await openStateStore(planned, { attachWarehouse: true, readOnly: false });
  const reports: SyncReport[] = [];
  try {
    for (const sync of syncs) {
      if (context.signal.aborted) break;
      const paused = options.dryRun ? null : await pausedMessage(store, sync.name);
      if (paused !== null) {
        context.emit({ type: 'sync_skipped', sync: sync.name, message: paused });
        reports.push(
          emptyReport({ sync: sync.name, plan: NOTHING_PLANNED, invalid: 0, delete_guard: null }, null, 'skipped', paused, Date.now()),
        );
        continue;
      }
      const failure = failures.get(sync.name);
      const report = failure ? await failBeforePlan(context, store, sync, failure) : await runOne(context, store, sync);
      reports.push(report);
      if (!options.dryRun) await keepHealth(context, store, sync, report);
    }
  } finally {
    await store.close();
  }
  return reports;
}

/**
 * Moves the sync's health by the run's result, once that is committed, and hands the notifications it
 * decides to the dispatcher. A failure here is logged, never the run's. The change itself is a row of
 * `events`, not a log line: `run_finished` (or `run_failed`) stays the last line of a sync's run.
 */
async function keepHealth(context: RunContext, store: StateStore, sync: SyncConfig, report: SyncReport): Promise<void> {
  try {
    const change = await healthOfRun(context.project, store, sync, report, clockOf(context).now());
    if (!change) return;
    const outgoing = await recordHealth(context.project, store, change, clockOf(context).now());
    context.alerts.dispatch(outgoing, context.emit);
  } catch (error) {
    context.emit({
      type: 'health_not_recorded',
      sync: sync.name,
      error: storableText(redact(oneLine((error as Error)?.message ?? String(error)), context.project.secrets)),
    });
  }
}

/** What every report of a sync's run carries, whatever became of the run. */
type ReportBase = Pick<SyncReport, 'sync' | 'plan' | 'invalid' | 'delete_guard'>;

/** A report for a run that sent nothing. */
function emptyReport(
  base: ReportBase,
  runId: string | null,
  status: SyncReport['status'],
  error: string | null,
  started: number,
  stop: Failure | null = null,
): SyncReport {
  return {
    ...base,
    run_id: runId,
    status,
    sent: 0,
    succeeded: 0,
    failed: 0,
    aborted: 0,
    api_calls: 0,
    duration_ms: Date.now() - started,
    error,
    error_class: stop?.errorClass ?? null,
    error_code: stop?.code ?? null,
    failed_by_class: {},
  };
}

const NOTHING_PLANNED: PlanCounts = emptyPlanCounts();

/**
 * A sync that failed its preflight: a `sync_runs` row, `failed` with the check's one line, so `status`
 * and a scheduler see why nothing moved; no other state changes. A dry run only reports it.
 */
async function failBeforePlan(context: RunContext, store: StateStore, sync: SyncConfig, failure: UserError): Promise<SyncReport> {
  const started = Date.now();
  const message = storableText(redact(failure.format(), context.project.secrets));
  const base: ReportBase = { sync: sync.name, plan: NOTHING_PLANNED, invalid: 0, delete_guard: null };
  if (context.options.dryRun) return emptyReport(base, null, 'failed', message, started);
  const unlock = await lockSync(store, sync.name, sync.file);
  try {
    return await recordFailedRun(
      context,
      store,
      sync,
      message,
      base,
      started,
      failure instanceof DestinationUnusable ? failure.failure : null,
    );
  } finally {
    await unlock();
  }
}

/** A run that failed before sending anything: one `sync_runs` row saying why, under the sync's lock. */
async function recordFailedRun(
  context: RunContext,
  store: StateStore,
  sync: SyncConfig,
  message: string,
  base: ReportBase,
  started: number,
  stop: Failure | null = null,
): Promise<SyncReport> {
  const runId = await openSyncRun(context, store, sync, NOTHING_PLANNED);
  await closeRun(store.db, runId, 'failed', message, clockOf(context).now());
  context.emit({ type: 'run_failed', sync: sync.name, run_id: runId, error: message });
  return emptyReport(base, runId, 'failed', message, started, stop);
}

/**
 * Planning reads every model row, so a model can fail there although its preflight passed (a cast that
 * fails on row 3, a division by zero): that is this sync's failure, and the other syncs still run. A
 * lost state store is everyone's, and stops the command.
 */
async function planOrFail(
  context: RunContext,
  store: StateStore,
  sync: SyncConfig,
  stateSession: StateSession,
): Promise<{ plan: Plan } | { failure: string }> {
  try {
    return { plan: await planSync(context, store, sync) };
  } catch (error) {
    const explained = await stateSession.explain(error);
    if (explained instanceof StateConnectionLost) throw explained;
    const failure = error instanceof UserError ? error : modelSqlError(context.project.models[sync.model], error, null);
    return { failure: storableText(redact(failure.format(), context.project.secrets)) };
  }
}

async function runOne(context: RunContext, store: StateStore, sync: SyncConfig): Promise<SyncReport> {
  const started = Date.now();
  const unlock = await lockSync(store, sync.name, sync.file);
  let failed = false;
  try {
    const stateSession = await watchStateSession(store);
    if (!context.options.dryRun) {
      const unread = await recoverJobsOrFail(context, store, sync);
      if (unread !== null) {
        const base: ReportBase = { sync: sync.name, plan: NOTHING_PLANNED, invalid: 0, delete_guard: null };
        return await recordFailedRun(context, store, sync, unread, base, started);
      }
    }
    const planned = await planOrFail(context, store, sync, stateSession);
    if ('failure' in planned) {
      const base: ReportBase = { sync: sync.name, plan: NOTHING_PLANNED, invalid: 0, delete_guard: null };
      if (context.options.dryRun) return emptyReport(base, null, 'failed', planned.failure, started);
      return await recordFailedRun(context, store, sync, planned.failure, base, started);
    }
    const { plan } = planned;
    const guard = deleteGuard(sync, plan.counts);
    const base: ReportBase = { sync: sync.name, plan: plan.counts, invalid: plan.counts.invalid, delete_guard: guard };
    if (context.options.dryRun) return emptyReport(base, null, 'planned', null, started);

    const runId = await openSyncRun(context, store, sync, plan.counts);
    if (context.signal.aborted) {
      // A signal that arrived while planning (which can take a while on a large model): send nothing.
      const message = 'cancelled by signal before sending';
      await closeRun(store.db, runId, 'cancelled', message, clockOf(context).now());
      context.emit({ type: 'run_failed', sync: sync.name, run_id: runId, error: message });
      return emptyReport(base, runId, 'cancelled', message, started);
    }
    if (guard?.stops && !context.options.allowDeletes) {
      // Recorded as a failed run so `status` and a scheduler see why nothing moved; no other state changes.
      const message = refusalMessage(guard);
      await closeRun(store.db, runId, 'failed', message, clockOf(context).now());
      context.emit({
        type: 'run_refused',
        sync: sync.name,
        run_id: runId,
        deletes: guard.deletes,
        synced: guard.synced,
        max_share: guard.max_share,
        error: message,
      });
      return emptyReport(base, runId, 'failed', message, started);
    }
    // From here on the run has a `sync_runs` row: any failure, the state store's own included, closes it
    // as failed. If the state store's connection was lost, the pool opens a new one to record that; if
    // even that fails, the next run's closeInterruptedRuns marks the run failed (`interrupted…`).
    let report: SyncReport;
    try {
      const totals = await executeSyncRun(context, store, sync, plan, runId, stateSession);
      report = await closeSyncRun(store, base, runId, totals, started, clockOf(context).now());
    } catch (error) {
      failed = true;
      const message = await failureMessage(context.project, stateSession, error);
      await closeRun(store.db, runId, 'failed', message, clockOf(context).now()).catch(() => {});
      context.emit({ type: 'run_failed', sync: sync.name, run_id: runId, error: message });
      return emptyReport(base, runId, 'failed', message, started);
    }
    // Housekeeping after the run is recorded: a failure here is the state store's, not the run's.
    await pruneHistory(store, sync.name, sync.retention_ms, runId, clockOf(context).now());
    const { plan: _plan, ...finished } = report;
    context.emit({ type: 'run_finished', ...finished });
    return report;
  } finally {
    // A lost session has already released its lock; failing again here would hide why the run failed.
    await unlock().catch((error) => {
      if (!failed) throw error;
    });
  }
}

/**
 * Reads the Bulk API jobs a killed run of this sync left, before anything is planned (their rows must
 * not be planned as unsent while a job may have written them). Null when done; else why not, and the
 * sync does not run (the jobs stay recorded for the next try).
 */
async function recoverJobsOrFail(context: RunContext, store: StateStore, sync: SyncConfig): Promise<string | null> {
  const { project } = context;
  const connector = getConnector(project.destinations[sync.destination].type) as DestinationConnector;
  const settings = effectiveSettings(project, sync, connector);
  try {
    const recovered = await recoverBulkJobs(store, {
      target: writeTarget(project, sync),
      retry: settings.retry,
      batchSize: settings.batchSize,
      workerPools: context.workerPools,
      redact: (text) => redact(text, project.secrets),
      commitPolicy: { policy: sync.failed_rows, mappingHash: mappingHash(sync), now: () => clockOf(context).now() },
    });
    for (const job of recovered) {
      context.emit({
        type: 'bulk_job_recovered',
        sync: sync.name,
        job_id: job.jobId,
        run_id: job.runId,
        succeeded: job.succeeded,
        failed: job.failed,
        api_calls: job.apiCalls,
      });
    }
    return null;
  } catch (error) {
    return storableText(redact(oneLine((error as Error)?.message ?? String(error)), project.secrets));
  }
}

/** Plans the sync and logs its invalid rows: the first of them one by one, the rest as a count. */
async function planSync(context: RunContext, store: StateStore, sync: SyncConfig): Promise<Plan> {
  const plan = await buildPlan(store, context.project, sync, { fullResync: !!context.options.fullResync, now: clockOf(context).now() });
  for (const row of plan.invalidSample) context.emit({ type: 'invalid_row', sync: sync.name, primary_key: row.key, reason: row.reason });
  if (plan.counts.invalid > plan.invalidSample.length) {
    context.emit({ type: 'invalid_rows_more', sync: sync.name, more: plan.counts.invalid - plan.invalidSample.length });
  }
  return plan;
}

/** Gives the run its `sync_runs` row, after closing any run a killed process left `running`. */
async function openSyncRun(context: RunContext, store: StateStore, sync: SyncConfig, counts: RunPlanCounts): Promise<string> {
  const runId = newRunId();
  const now = clockOf(context).now();
  await closeInterruptedRuns(store.db, sync.name, now);
  await openRun(store.db, runId, sync.name, counts, !!context.options.fullResync, now, context.options.triggerId ?? null);
  return runId;
}

/** Settles what the plan needs settled before the first send, then sends it. */
async function executeSyncRun(
  context: RunContext,
  store: StateStore,
  sync: SyncConfig,
  plan: Plan,
  runId: string,
  stateSession: StateSession,
): Promise<RunTotals> {
  const { project, emit } = context;
  const connector = getConnector(project.destinations[sync.destination].type) as DestinationConnector;
  const settings = effectiveSettings(project, sync, connector);
  const target = writeTarget(project, sync);
  const jobRows = connector.jobSize?.(target, plan.counts.planned) ?? null;
  await recordMapping(store.db, sync.name, plan.mappingHash);
  await dropSettledFailures(store, sync);
  const superseded = await forgetSuperseded(store, project, sync, runId);
  if (superseded > 0) emit({ type: 'deletes_superseded', sync: sync.name, run_id: runId, keys: superseded });
  emit({
    type: 'run_started',
    sync: sync.name,
    run_id: runId,
    ...plan.counts,
    batch_size: settings.batchSize,
    concurrency: settings.concurrency,
    workers: settings.workers,
    job_rows: jobRows,
  });

  return executePlan(store, {
    runId,
    target,
    connector,
    jobRows,
    batchSize: settings.batchSize,
    concurrency: settings.concurrency,
    workers: settings.workers,
    retry: settings.retry,
    planned: plan.counts.planned,
    redact: (text) => redact(text, project.secrets),
    stateSession,
    signal: context.signal,
    workerPools: context.workerPools,
    commitPolicy: { policy: sync.failed_rows, mappingHash: plan.mappingHash, now: () => clockOf(context).now() },
    onCommit: (t) =>
      emit({
        type: 'progress',
        sync: sync.name,
        run_id: runId,
        planned: plan.counts.planned,
        sent: t.sent,
        succeeded: t.succeeded,
        failed: t.failed,
        aborted: t.aborted,
        api_calls: t.apiCalls,
      }),
  });
}

/** Records how the run ended and reports it. */
async function closeSyncRun(
  store: StateStore,
  base: ReportBase,
  runId: string,
  totals: RunTotals,
  started: number,
  finishedAt: Date,
): Promise<SyncReport> {
  const { status, error } = outcome(totals, base.invalid);
  const byClass = totals.failed > 0 ? await failedByClass(store, base.sync, runId) : {};
  await closeRun(store.db, runId, status, error, finishedAt);
  return {
    ...base,
    run_id: runId,
    status,
    sent: totals.sent,
    succeeded: totals.succeeded,
    failed: totals.failed,
    aborted: totals.aborted,
    api_calls: totals.apiCalls,
    duration_ms: Date.now() - started,
    error,
    error_class: totals.fatal?.errorClass ?? null,
    error_code: totals.fatal?.code ?? null,
    failed_by_class: byClass,
  };
}

/** One storable line, secrets masked; a lost state connection says so. */
async function failureMessage(project: ProjectConfig, stateSession: StateSession, error: unknown): Promise<string> {
  const explained = await stateSession.explain(error);
  return storableText(redact(oneLine((explained as Error)?.message ?? String(explained)), project.secrets));
}

function describeFatal(f: Failure): string {
  return `${f.code}: ${f.message}${f.remediation ? ` (${f.remediation})` : ''}`;
}

function outcome(totals: RunTotals, invalid: number): { status: RunStatus; error: string | null } {
  if (totals.fatal) return { status: 'failed', error: describeFatal(totals.fatal) };
  if (totals.cancelled) return { status: 'cancelled', error: 'cancelled by signal' };
  if (totals.failed > 0 || invalid > 0) return { status: 'completed_with_errors', error: null };
  return { status: 'succeeded', error: null };
}
