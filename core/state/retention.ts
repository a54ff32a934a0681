/**
 * Retention: `sync_changelog` and `sync_runs` rows of a sync older than its `retention:` (default 30
 * days) are deleted after each of its runs. `failed_rows` is never pruned: a row stays there until it
 * syncs or leaves the model. The run just recorded is always kept, so `status` and the scheduler's
 * missed-slot check still see the last run.
 */
import type { StateStore } from './state-store.js';
import { transact } from './transact.js';
import { quoteLiteral as literal } from '../db/sql-text.js';

export async function pruneHistory(store: StateStore, syncName: string, retentionMs: number, keepRunId: string, now: Date): Promise<void> {
  const cutoff = `cast(${literal(new Date(now.getTime() - retentionMs).toISOString())} as timestamptz)`;
  const name = literal(syncName);
  await transact(store, [
    `delete from sync_changelog where sync_name = ${name} and "at" < ${cutoff}`,
    `delete from sync_runs where sync_name = ${name} and run_id <> ${literal(keepRunId)} and status <> 'running'
      and coalesce(finished_at, started_at) < ${cutoff}`,
  ]);
}
