/**
 * The mass-delete guard of mirror mode. A model that comes back empty or half empty (a broken join, a
 * filter on the wrong day, a truncated source table) looks exactly like rows that left the model, and
 * mirror would delete them all in the destination. So a run that would delete more than `max_share`
 * of the rows the sync has synced, or whose model has no valid row left at all, stops before sending
 * anything, unless `run --allow-deletes` says the deletes are meant.
 */
import type { SyncConfig } from '../config/types.js';
import type { PlanCounts } from './planner.js';

/** Half: a routine run of a mirror sync deletes a small share of its rows. */
export const DEFAULT_MAX_DELETE_SHARE = 0.5;

export interface DeleteGuardVerdict {
  /** Deletes the run would send. */
  deletes: number;
  /** Rows the destination may hold from this sync (the denominator of the share). */
  synced: number;
  max_share: number;
  /** True when the run stops unless deletes are allowed. */
  stops: boolean;
  /** Why it stops, one line; null when it does not. */
  reason: string | null;
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** Null for modes that never delete. */
export function deleteGuard(sync: SyncConfig, counts: PlanCounts): DeleteGuardVerdict | null {
  if (sync.mode !== 'mirror') return null;
  const maxShare = sync.delete_guard?.max_share ?? DEFAULT_MAX_DELETE_SHARE;
  const deletes = counts.to_delete;
  const synced = counts.snapshot_rows;
  const verdict = { deletes, synced, max_share: maxShare, stops: false, reason: null as string | null };
  if (deletes === 0) return verdict;
  const valid = counts.model_rows - counts.invalid;
  if (valid === 0) {
    verdict.reason = `the model returned no valid row, so mirror would delete ${deletes} of the ${synced} rows this sync has synced`;
  } else if (deletes > maxShare * synced) {
    verdict.reason =
      `mirror would delete ${deletes} of the ${synced} rows this sync has synced (${percent(synced ? deletes / synced : 1)}), ` +
      `more than delete_guard.max_share (${percent(maxShare)})`;
  }
  verdict.stops = verdict.reason !== null;
  return verdict;
}

/** The one line a refused run reports. */
export function refusalMessage(verdict: DeleteGuardVerdict): string {
  return `${verdict.reason}; nothing was sent. Check the model; if the deletes are meant, run again with --allow-deletes.`;
}
