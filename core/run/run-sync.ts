/**
 * One command's worth of work over the pipeline: config (already loaded) → preflight → plan →
 * execute → state. Used by `plan` (stops after planning) and `run`.
 */
import { existsSync } from 'node:fs';
import type { DestinationConnector, Failure } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { redact } from '../../shared/redact.js';
import { oneLine } from '../../shared/errors.js';
import { deleteGuard, refusalMessage, type DeleteGuardVerdict } from '../plan/delete-guard.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { executePlan, type RunTotals } from '../execute/executor.js';
import { effectiveSettings, writeTarget } from '../config/write-target.js';
import { buildPlan, forgetSuperseded, type Plan } from '../plan/planner.js';
import { dropSettledFailures } from '../state/plan-table.js';
import { preflight } from '../plan/preflight.js';
import { closeInterruptedRuns, closeRun, newRunId, openRun, recordMapping } from '../state/run-log.js';
import { storableText } from '../state/sanitize-text.js';
import { watchStateSession } from '../state/state-session.js';
import type { RunStatus } from '../state/schema.js';
import { lockSync } from './sync-lock.js';

export interface RunEvents {
  log(event: string, fields: Record<string, unknown>): void;
  progress?(sync: string, planned: number, totals: RunTotals): void;
}

export interface SyncReport {
  sync: string;
  run_id: string | null;
  status: RunStatus | 'planned';
  plan: Plan['counts'];
  sent: number;
  succeeded: number;
  failed: number;
  aborted: number;
  invalid: number;
  api_calls: number;
  duration_ms: number;
  error: string | null;
  /** Mirror mode's mass-delete guard; null for modes that never delete. */
  delete_guard: DeleteGuardVerdict | null;
}

export interface RunOptions {
  fullResync?: boolean;
  /** Plan only: count, send nothing, write nothing. */
  dryRun?: boolean;
  /** Let a mirror run through the delete guard (`run --allow-deletes`). */
  allowDeletes?: boolean;
  signal?: AbortSignal;
}

export async function runSyncs(project: ProjectConfig, syncs: SyncConfig[], events: RunEvents, options: RunOptions = {}): Promise<SyncReport[]> {
  await preflight(project, syncs);
  // A dry run against a DuckDB state that does not exist yet plans as if nothing was synced, in an
  // in-memory store, so `plan` never creates the file. Against an existing one it may migrate it and fold
  // the snapshot log (the same content, README "CLI").
  const absent = options.dryRun && project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path);
  const planned = absent ? { ...project, state: { type: 'duckdb' as const, path: ':memory:' } } : project;
  const store = await openStateStore(planned, { attachWarehouse: true, readOnly: false });
  const reports: SyncReport[] = [];
  try {
    for (const sync of syncs) {
      if (options.signal?.aborted) break;
      reports.push(await runOne(store, project, sync, events, options));
    }
  } finally {
    await store.close();
  }
  return reports;
}

async function runOne(store: StateStore, project: ProjectConfig, sync: SyncConfig, events: RunEvents, options: RunOptions): Promise<SyncReport> {
  const started = Date.now();
  const connector = getConnector(project.destinations[sync.destination].type) as DestinationConnector;
  const settings = effectiveSettings(project, sync, connector);
  const mask = (text: string) => redact(text, project.secrets);
  const unlock = await lockSync(store, sync.name, sync.file);
  let failed = false;
  try {
    const stateSession = await watchStateSession(store);
    const plan = await buildPlan(store, project, sync, { fullResync: !!options.fullResync });
    for (const row of plan.invalidSample) events.log('invalid_row', { sync: sync.name, primary_key: row.key, reason: row.reason });
    if (plan.counts.invalid > plan.invalidSample.length) {
      events.log('invalid_rows_more', { sync: sync.name, more: plan.counts.invalid - plan.invalidSample.length });
    }
    const guard = deleteGuard(sync, plan.counts);
    const base = {
      sync: sync.name,
      plan: plan.counts,
      invalid: plan.counts.invalid,
      delete_guard: guard,
    };
    if (options.dryRun) {
      return { ...base, run_id: null, status: 'planned', sent: 0, succeeded: 0, failed: 0, aborted: 0, api_calls: 0, duration_ms: Date.now() - started, error: null };
    }

    const runId = newRunId();
    await closeInterruptedRuns(store.db, sync.name);
    await openRun(store.db, runId, sync.name, plan.counts, !!options.fullResync);
    if (guard?.stops && !options.allowDeletes) {
      // Recorded as a failed run so `status` and a scheduler see why nothing moved; no other state changes.
      const message = refusalMessage(guard);
      await closeRun(store.db, runId, 'failed', message);
      events.log('run_refused', { sync: sync.name, run_id: runId, deletes: guard.deletes, synced: guard.synced, max_share: guard.max_share, error: message });
      return { ...base, run_id: runId, status: 'failed', sent: 0, succeeded: 0, failed: 0, aborted: 0, api_calls: 0, duration_ms: Date.now() - started, error: message };
    }
    // From here on the run has a `sync_runs` row: any failure, the state store's own included, closes it
    // as failed. If the state store's connection was lost, the pool opens a new one to record that; if
    // even that fails, the next run's closeInterruptedRuns marks the run failed (`interrupted…`).
    let totals: RunTotals;
    let closed: { status: RunStatus; error: string | null };
    try {
      await recordMapping(store.db, sync.name, plan.mappingHash);
      await dropSettledFailures(store, sync);
      const superseded = await forgetSuperseded(store, project, sync, runId);
      if (superseded > 0) events.log('deletes_superseded', { sync: sync.name, run_id: runId, keys: superseded });
      events.log('run_started', { sync: sync.name, run_id: runId, ...plan.counts, batch_size: settings.batchSize, concurrency: settings.concurrency, workers: settings.workers });

      totals = await executePlan(store, {
        runId,
        target: writeTarget(project, sync),
        connector,
        batchSize: settings.batchSize,
        concurrency: settings.concurrency,
        workers: settings.workers,
        retry: settings.retry,
        planned: plan.counts.planned,
        redact: mask,
        stateSession,
        signal: options.signal ?? new AbortController().signal,
        onCommit: (t) => events.progress?.(sync.name, plan.counts.planned, t),
      });
      closed = outcome(totals, plan.counts.invalid);
      await closeRun(store.db, runId, closed.status, closed.error);
    } catch (error) {
      failed = true;
      const explained = await stateSession.explain(error);
      const message = storableText(mask(oneLine((explained as Error)?.message ?? String(explained))));
      await closeRun(store.db, runId, 'failed', message).catch(() => {});
      events.log('run_failed', { sync: sync.name, run_id: runId, error: message });
      return { ...base, run_id: runId, status: 'failed', sent: 0, succeeded: 0, failed: 0, aborted: 0, api_calls: 0, duration_ms: Date.now() - started, error: message };
    }

    const { status, error } = closed;
    const report: SyncReport = {
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
    };
    events.log('run_finished', { ...report, plan: undefined });
    return report;
  } finally {
    // A lost session has already released its lock; failing again here would hide why the run failed.
    await unlock().catch((error) => {
      if (!failed) throw error;
    });
  }
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
