/**
 * The snapshot is kept in two tables. Each batch commit appends what the destination acknowledged to
 * `sync_snapshot_log` (a null `row_hash` records a delete), which costs the size of the batch. A key's
 * current entry is its latest log entry, else its `sync_snapshots` row: `currentSnapshotSql` is the
 * one definition every reader uses.
 *
 * Folding moves the log into `sync_snapshots`. On DuckDB that costs the size of the snapshot, not of
 * the log: updating 10k rows scattered over a 10M-row snapshot took 1 s and its commit 4 to 8 s more
 * (every row group is rewritten). So a large snapshot is folded only once its log has grown to a
 * quarter of it, and a small one (under 100k rows, folded in milliseconds) after every run.
 */
import { sql } from 'kysely';
import type { StateStore } from './state-store.js';
import { quoteLiteral as literal } from '../db/sql-text.js';
import { transact } from './transact.js';
import { removeFailuresSql } from './failed-row-index.js';
import { rowHashNumberSql } from './row-hash-number.js';
import { capDuckDBMemory, isOutOfMemory } from './memory-cap.js';

/** Snapshots below this many rows are folded after every run; HIGHTOUCH_LIKE_FOLD_ALWAYS_BELOW overrides. */
const FOLD_ALWAYS_BELOW = 100_000;
/** Larger snapshots are folded once their log holds this share of their rows. */
const FOLD_RATIO = 0.25;

/**
 * Snapshots of up to this many rows fold under DuckDB's `fold` cap (memory-cap.ts), lower than the
 * plan's: the fold was the peak of a 1M-row Salesforce write (974 MiB against 610–670 MiB while
 * sending), 916 MiB under 448MB. Larger folds were not measured under it and keep the plan's cap.
 */
const FOLD_CAPPED_UP_TO = 1_000_000;

/** A key's latest log entry (one per key for the sync), as a derived table. */
function latestLogSql(sync: string, catalog: string): string {
  return `(select primary_key, row_hash, destination_id, synced_at, run_id from (
      select l.primary_key, l.row_hash, l.destination_id, l.synced_at, l.run_id,
        row_number() over (partition by l.primary_key order by l.synced_at desc, l.run_id desc) as n
      from ${catalog}sync_snapshot_log l where l.sync_name = ${sync}) x where n = 1)`;
}

/**
 * The current snapshot of a sync, one row per acknowledged key: `primary_key, row_hash, destination_id`.
 * `catalog` qualifies the tables (e.g. `"state".main.`) for statements run from another database.
 * `logEmpty`: the caller counted no `sync_snapshot_log` row for the sync (under the sync's lock).
 * `numbered` (DuckDB): with `row_hash_u64` too, the hash as a number (row-hash-number.ts).
 */
export function currentSnapshotSql(syncName: string, catalog = '', logEmpty = false, numbered = false): string {
  const sync = literal(syncName);
  const number = numbered ? ', row_hash_u64' : '';
  // Nothing logged for the sync (a settled snapshot): the table alone, without the join (~10% of a diff).
  if (logEmpty) return `(select primary_key, row_hash${number}, destination_id from ${catalog}sync_snapshots where sync_name = ${sync})`;
  // One join in which the small side (the log) can be the hash table; a NOT EXISTS against the log
  // nested in the planner's own subqueries made DuckDB plan 10M-row snapshots 60% slower.
  const logNumber = numbered
    ? `case when f.primary_key is null then s.row_hash_u64 else ${rowHashNumberSql('duckdb', 'f.row_hash')} end as row_hash_u64,`
    : '';
  return `(select coalesce(f.primary_key, s.primary_key) as primary_key,
        case when f.primary_key is null then s.row_hash else f.row_hash end as row_hash, ${logNumber}
        case when f.primary_key is null then s.destination_id else f.destination_id end as destination_id
      from (select primary_key, row_hash${number}, destination_id from ${catalog}sync_snapshots where sync_name = ${sync}) s
      full outer join ${latestLogSql(sync, catalog)} f on f.primary_key = s.primary_key
      where f.primary_key is null or f.row_hash is not null)`;
}

/**
 * Logs the plan rows `where` selects as deleted, with nothing sent: the fold drops their keys from the
 * snapshot. For deletes a run must not send because another key now holds their record (planner.ts
 * `forgetSuperseded`, plan-table.ts `forgetHeldDeletes`). Their keys leave the failed-row index too
 * (an earlier failed write or delete of the key): they are settled, and the caller runs both statements
 * in one transaction, so a key is never forgotten while still counted as failing until the next plan.
 */
export function forgetPlanRowsSql(syncName: string, runId: string, at: Date, where: string): string[] {
  const when = `cast(${literal(at.toISOString())} as timestamptz)`;
  return [
    `insert into sync_snapshot_log (sync_name, primary_key, row_hash, destination_id, synced_at, run_id)
      select ${literal(syncName)}, pk, null, null, ${when}, ${literal(runId)} from ht_plan where ${where}`,
    removeFailuresSql(syncName, `primary_key in (select pk from ht_plan where ${where})`),
  ];
}

/**
 * After a run, and before a plan (which picks up what a killed run acknowledged): logged keys lose their
 * `sync_pending` marks (they are acknowledged, no longer "maybe sent"), and the log is folded if due.
 */
export async function settleSnapshotLog(store: StateStore, syncName: string): Promise<void> {
  const sync = literal(syncName);
  const count = async (table: string) =>
    Number((await sql.raw<{ n: number }>(`select count(*) as n from ${table} where sync_name = ${sync}`).execute(store.db)).rows[0].n);
  const logged = await count('sync_snapshot_log');
  if (logged === 0) return;
  const clearPending = `delete from sync_pending where sync_name = ${sync}
      and primary_key in (select primary_key from sync_snapshot_log where sync_name = ${sync})`;
  const snapshot = await count('sync_snapshots');
  const foldAlwaysBelow = Number(process.env.HIGHTOUCH_LIKE_FOLD_ALWAYS_BELOW ?? FOLD_ALWAYS_BELOW);
  if (snapshot >= foldAlwaysBelow && logged < FOLD_RATIO * snapshot) {
    await transact(store, [clearPending]);
    return;
  }
  const latest = latestLogSql(sync, '');
  const fold = [
    clearPending,
    // Both forms of the hash, always together (row-hash-number.ts): a stale number could pass a change.
    `update sync_snapshots set row_hash = f.row_hash, row_hash_u64 = ${rowHashNumberSql(store.dialect, 'f.row_hash')},
        destination_id = f.destination_id, synced_at = f.synced_at, run_id = f.run_id
      from ${latest} as f
      where sync_snapshots.sync_name = ${sync} and sync_snapshots.primary_key = f.primary_key and f.row_hash is not null`,
    `delete from sync_snapshots where sync_name = ${sync}
      and primary_key in (select primary_key from ${latest} as f where f.row_hash is null)`,
    `insert into sync_snapshots (sync_name, primary_key, row_hash, row_hash_u64, destination_id, synced_at, run_id)
      select ${sync}, f.primary_key, f.row_hash, ${rowHashNumberSql(store.dialect, 'f.row_hash')}, f.destination_id, f.synced_at, f.run_id
      from ${latest} as f
      where f.row_hash is not null
        and not exists (select 1 from sync_snapshots s where s.sync_name = ${sync} and s.primary_key = f.primary_key)`,
    `delete from sync_snapshot_log where sync_name = ${sync}`,
  ];
  if (store.dialect === 'duckdb' && snapshot <= FOLD_CAPPED_UP_TO) {
    // A fold that runs out of the lower cap is rolled back and done again under the plan's; so is one
    // whose cap cannot be set (DuckDB refuses a cap below the memory it holds).
    try {
      await capDuckDBMemory(store, 'fold');
      await transact(store, fold);
      return;
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
    } finally {
      await capDuckDBMemory(store, 'plan');
    }
  }
  await transact(store, fold);
}
