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
import { poolShape, type WorkerPools } from '../execute/worker-pool.js';
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
import { changePause, pausedMessage } from './pause.js';
import { budgetAfterRun, budgetBeforeRun, type BudgetVerdict } from './api-budget.js';
import { recordHealEvent } from './heal-event.js';
import { recordRunBudget } from '../state/run-log.js';
import type { HealNotice } from '../execute/schema-healer.js';
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
  const { failures, schemas, warnings } = await preflightSyncs(project, syncs);
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
      for (const warning of warnings.get(sync.name) ?? []) {
        context.emit({ type: 'mapping_warning', sync: sync.name, field: warning.field ?? '', message: warning.format() });
      }
      const report = failure
        ? await failBeforePlan(context, store, sync, failure)
        : await runOne(context, store, sync, schemas.get(sync.name));
      reports.push(report);
      // Before the run's health: the pause is the one alert, and a paused sync's health stays paused.
      if (report.paused_by_policy) await pauseByPolicy(context, store, sync, report.paused_by_policy);
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

/** A permission change self-healing cannot fix: the sync is paused, and the pause alerts (`paused_by_policy`). */
async function pauseByPolicy(context: RunContext, store: StateStore, sync: SyncConfig, reason: string): Promise<void> {
  try {
    await changePause({
      project: context.project,
      sync,
      pause: { by: 'policy', reason },
      alerts: context.alerts,
      emit: context.emit,
      now: clockOf(context).now(),
      store,
    });
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
    retries_held: 0,
    retries_held_reason: null,
    deferred: 0,
    deferred_until: null,
    dropped_fields: [],
    paused_by_policy: null,
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
    if (failure instanceof DestinationUnusable && failure.failure.errorClass === 'quota') {
      return await recordQuotaBeforePlan(context, store, sync, failure.failure, base, started);
    }
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

/** The destination's check met a spent daily quota: a deferred run (not a failed one), and no run sends before it should free. */
async function recordQuotaBeforePlan(
  context: RunContext,
  store: StateStore,
  sync: SyncConfig,
  quota: Failure,
  base: ReportBase,
  started: number,
): Promise<SyncReport> {
  const now = clockOf(context).now();
  const until = await budgetAfterRun(store, context.project.destinations[sync.destination], { apiCalls: 1, apiUsage: null, quota }, now);
  const message = storableText(
    redact(`deferred: ${quota.code}: ${quota.message}; a run at or after ${until!.toISOString()} sends the rows`, context.project.secrets),
  );
  const runId = await openSyncRun(context, store, sync, NOTHING_PLANNED);
  await closeRun(store.db, runId, 'deferred', message, now);
  const report = { ...emptyReport(base, runId, 'deferred', message, started, null), deferred_until: until!.toISOString() };
  const { plan: _plan, ...finished } = report;
  context.emit({ type: 'run_finished', ...finished });
  return report;
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
  holdRetries: boolean,
): Promise<{ plan: Plan } | { failure: string }> {
  try {
    return { plan: await planSync(context, store, sync, holdRetries) };
  } catch (error) {
    const explained = await stateSession.explain(error);
    if (explained instanceof StateConnectionLost) throw explained;
    const failure = error instanceof UserError ? error : modelSqlError(context.project.models[sync.model], error, null);
    return { failure: storableText(redact(failure.format(), context.project.secrets)) };
  }
}

/** `schema`: what the destination's check described of the mapped fields, for the write target. */
async function runOne(context: RunContext, store: StateStore, sync: SyncConfig, schema?: Record<string, unknown>): Promise<SyncReport> {
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
    const budget = await budgetOf(context, store, sync);
    if (!context.options.dryRun) {
      // The write threads start while the sync plans, not after (worker-pool.ts).
      const { type } = context.project.destinations[sync.destination];
      const connector = getConnector(type) as DestinationConnector;
      context.workerPools.warm(poolShape(effectiveSettings(context.project, sync, connector)), type);
    }
    const planned = await planOrFail(context, store, sync, stateSession, budget.holdReason !== null);
    if ('failure' in planned) {
      const base: ReportBase = { sync: sync.name, plan: NOTHING_PLANNED, invalid: 0, delete_guard: null };
      if (context.options.dryRun) return emptyReport(base, null, 'failed', planned.failure, started);
      return await recordFailedRun(context, store, sync, planned.failure, base, started);
    }
    const { plan } = planned;
    const guard = deleteGuard(sync, plan.counts);
    const base: ReportBase = { sync: sync.name, plan: plan.counts, invalid: plan.counts.invalid, delete_guard: guard };
    const held = {
      retries_held: plan.counts.held_by_budget,
      retries_held_reason: plan.counts.held_by_budget > 0 ? budget.holdReason : null,
    };
    if (context.options.dryRun) return { ...emptyReport(base, null, 'planned', null, started), ...held };

    const runId = await openSyncRun(context, store, sync, plan.counts);
    if (budget.deferredUntil) {
      // The destination's daily quota is spent: nothing is sent, nothing fails; a later run sends the rows.
      const until = budget.deferredUntil.toISOString();
      const message = `deferred: the API budget of destination ${sync.destination} is spent (${budget.deferReason ?? 'daily quota'}); ${plan.counts.planned} rows are sent by a run at or after ${until}`;
      await recordRunBudget(store.db, runId, {
        retriesHeld: held.retries_held,
        reason: held.retries_held_reason,
        deferred: plan.counts.planned,
      });
      await closeRun(store.db, runId, 'deferred', storableText(redact(message, context.project.secrets)), clockOf(context).now());
      const report = {
        ...emptyReport(base, runId, 'deferred', message, started),
        ...held,
        deferred: plan.counts.planned,
        deferred_until: until,
      };
      const { plan: _plan, ...finished } = report;
      context.emit({ type: 'run_finished', ...finished });
      return report;
    }
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
      const dropped: string[] = [];
      const totals = await executeSyncRun(context, store, sync, plan, runId, stateSession, budget, dropped, schema);
      const deferredUntil = await budgetAfterRun(store, context.project.destinations[sync.destination], totals, clockOf(context).now());
      report = await closeSyncRun(store, base, runId, totals, started, clockOf(context).now(), {
        ...held,
        deferredUntil,
        dropped,
        readCalls: budget.apiCalls,
      });
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

/**
 * The destination's API budget before the run: read from the destination (one call) unless this is a
 * dry run, which reads only what the state store holds and writes nothing.
 */
async function budgetOf(context: RunContext, store: StateStore, sync: SyncConfig): Promise<BudgetVerdict> {
  const destination = context.project.destinations[sync.destination];
  const connector = getConnector(destination.type) as DestinationConnector;
  return budgetBeforeRun(store, destination, connector, writeTarget(context.project, sync), clockOf(context).now(), {
    probe: !context.options.dryRun,
  });
}

/** Plans the sync and logs its invalid rows: the first of them one by one, the rest as a count. */
async function planSync(context: RunContext, store: StateStore, sync: SyncConfig, holdRetries: boolean): Promise<Plan> {
  const plan = await buildPlan(store, context.project, sync, {
    fullResync: !!context.options.fullResync,
    now: clockOf(context).now(),
    holdRetries,
  });
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
  budget: BudgetVerdict,
  dropped: string[],
  schema: Record<string, unknown> | undefined,
): Promise<RunTotals> {
  const { project, emit } = context;
  const connector = getConnector(project.destinations[sync.destination].type) as DestinationConnector;
  const settings = effectiveSettings(project, sync, connector);
  const base = writeTarget(project, sync);
  const target = schema ? { ...base, sync: { ...base.sync, schema } } : base;
  const jobRows = connector.jobSize?.(target, plan.counts.planned) ?? null;
  await recordMapping(store.db, sync.name, plan.mappingHash, plan.rowHashIdentity);
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
    model_read: plan.modelRead,
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
    maxCalls: budget.maxCalls === null ? null : Math.max(0, budget.maxCalls - budget.apiCalls),
    onSuperseded: (keys) => emit({ type: 'deletes_superseded', sync: sync.name, run_id: runId, keys }),
    onHeal: async (notice: HealNotice) => {
      dropped.push(...notice.deleted.filter((f) => !dropped.includes(f)));
      const message = redact(notice.failure.message, project.secrets);
      emit({
        type: 'schema_healed',
        sync: sync.name,
        run_id: runId,
        dropped_fields: notice.deleted,
        error_code: notice.failure.code,
        message,
      });
      await recordHealEvent(store, sync, runId, notice, message, clockOf(context).now());
    },
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
  budget: {
    retries_held: number;
    retries_held_reason: string | null;
    deferredUntil: Date | null;
    dropped: string[];
    readCalls: number;
  },
): Promise<SyncReport> {
  const deferring = !totals.fatal && (totals.quota !== null || totals.callLimitReached);
  const deferred = deferring ? base.plan.planned - totals.succeeded - totals.failed : 0;
  const until = budget.deferredUntil ?? (deferring ? finishedAt : null);
  const { status, error } = outcome(totals, base.invalid, deferred, until);
  const byClass = totals.failed > 0 ? await failedByClass(store, base.sync, runId) : {};
  await recordRunBudget(store.db, runId, {
    retriesHeld: budget.retries_held,
    reason: budget.retries_held_reason,
    deferred,
    readCalls: budget.readCalls,
  });
  await closeRun(store.db, runId, status, error, finishedAt);
  return {
    ...base,
    run_id: runId,
    status,
    sent: totals.sent,
    succeeded: totals.succeeded,
    failed: totals.failed,
    aborted: totals.aborted,
    api_calls: totals.apiCalls + budget.readCalls,
    duration_ms: Date.now() - started,
    error,
    error_class: totals.fatal?.errorClass ?? null,
    error_code: totals.fatal?.code ?? null,
    failed_by_class: byClass,
    retries_held: budget.retries_held,
    retries_held_reason: budget.retries_held_reason,
    deferred,
    deferred_until: deferring && until ? until.toISOString() : null,
    dropped_fields: budget.dropped,
    paused_by_policy: totals.permission ? `${totals.permission.code}: ${totals.permission.message}` : null,
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

function outcome(totals: RunTotals, invalid: number, deferred: number, until: Date | null): { status: RunStatus; error: string | null } {
  if (totals.fatal) return { status: 'failed', error: describeFatal(totals.fatal) };
  if (totals.cancelled) return { status: 'cancelled', error: 'cancelled by signal' };
  if (totals.quota || totals.callLimitReached) {
    const why = totals.quota ? `${totals.quota.code}: ${totals.quota.message}` : 'api_budget.max_calls_per_run reached';
    return { status: 'deferred', error: `deferred: ${why}; ${deferred} rows are sent by a run at or after ${until?.toISOString()}` };
  }
  if (totals.failed > 0 || invalid > 0) return { status: 'completed_with_errors', error: null };
  return { status: 'succeeded', error: null };
}
