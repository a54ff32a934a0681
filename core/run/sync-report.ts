/** What one sync's run (or plan) came to: `run --json` prints one per sync. */
import type { FailureClass } from '../../connectors/destination.js';
import type { DeleteGuardVerdict } from '../plan/delete-guard.js';
import type { Plan } from '../plan/planner.js';
import type { RunStatus } from '../state/schema.js';

export type PlanCounts = Plan['counts'];

/** Rows the run failed, by the failure class the destination's answer was given, as committed. */
export type FailedByClass = Partial<Record<FailureClass, number>>;

export interface SyncReport {
  sync: string;
  run_id: string | null;
  /** `skipped`: the sync is paused and did not run (no `sync_runs` row). */
  status: RunStatus | 'planned' | 'skipped';
  plan: PlanCounts;
  sent: number;
  succeeded: number;
  failed: number;
  aborted: number;
  invalid: number;
  api_calls: number;
  duration_ms: number;
  error: string | null;
  /** The failure class and code that stopped a failed run (`auth` for refused credentials); null otherwise. */
  error_class: FailureClass | null;
  error_code: string | null;
  /** Mirror mode's mass-delete guard; null for modes that never delete. */
  delete_guard: DeleteGuardVerdict | null;
  /** `failed`, split by failure class; empty when no row failed. */
  failed_by_class: FailedByClass;
  /** Failed-row retries the API budget held back, and why (README "API budget"). */
  retries_held: number;
  retries_held_reason: string | null;
  /** Rows left unsent because the API budget ran out; sent by a run at or after `deferred_until`. */
  deferred: number;
  deferred_until: string | null;
  /** Mapped fields self-healing dropped from the payloads this run (README "Self-healing"). */
  dropped_fields: string[];
  /** Why the run paused the sync (a permission change self-healing cannot fix); null otherwise. */
  paused_by_policy: string | null;
}
