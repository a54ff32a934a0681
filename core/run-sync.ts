/**
 * One command's worth of work over the pipeline: config (already loaded) → preflight → plan →
 * execute → state. Used by `plan` (stops after planning) and `run`.
 */
import type { DestinationConnector, Failure } from '../connectors/destination.js';
import { getConnector } from '../connectors/registry.js';
import type { ProjectConfig, SyncConfig } from './config/types.js';
import { redact } from './db/redact.js';
import { deleteGuard, refusalMessage, type DeleteGuardVerdict } from './delete-guard.js';
import { openStateStore, type StateStore } from './db/state-store.js';
import { executePlan, type RunTotals } from './execute/executor.js';
import { effectiveSettings, writeTarget } from './execute/target.js';
import { buildPlan, dropSettledFailures, forgetSuperseded, type Plan } from './plan/planner.js';
import { preflight } from './plan/preflight.js';
import { closeInterruptedRuns, closeRun, newRunId, openRun, recordMapping } from './state/run-log.js';
import type { RunStatus } from './state/schema.js';
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
  const store = await openStateStore(project, { attachWarehouse: true, readOnly: false });
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
  try {
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
    await recordMapping(store.db, sync.name, plan.mappingHash);
    await dropSettledFailures(store, sync);
    const superseded = await forgetSuperseded(store, project, sync, runId);
    if (superseded > 0) events.log('deletes_superseded', { sync: sync.name, run_id: runId, keys: superseded });
    events.log('run_started', { sync: sync.name, run_id: runId, ...plan.counts, batch_size: settings.batchSize, concurrency: settings.concurrency, workers: settings.workers });

    let totals: RunTotals;
    try {
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
        signal: options.signal ?? new AbortController().signal,
        onCommit: (t) => events.progress?.(sync.name, plan.counts.planned, t),
      });
    } catch (error) {
      const message = mask((error as Error).message ?? String(error));
      await closeRun(store.db, runId, 'failed', message).catch(() => {});
      events.log('run_failed', { sync: sync.name, run_id: runId, error: message });
      return { ...base, run_id: runId, status: 'failed', sent: 0, succeeded: 0, failed: 0, aborted: 0, api_calls: 0, duration_ms: Date.now() - started, error: message };
    }

    const { status, error } = outcome(totals, plan.counts.invalid);
    await closeRun(store.db, runId, status, error);
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
    await unlock();
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
