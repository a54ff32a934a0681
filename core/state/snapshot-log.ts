/**
 * The snapshot is written in two steps. Each batch commit appends what the destination acknowledged
 * to `sync_snapshot_log`, which costs the size of the batch. Folding moves the log into
 * `sync_snapshots` in one transaction, once per run: after the run, and before the next plan (which
 * picks up what a killed run acknowledged). Folding also clears the keys' `sync_pending` marks: once
 * in the snapshot they are acknowledged, no longer "maybe sent". Why: an upsert into a keyed table costs a scan of that
 * table on DuckDB (its ART index serves no join), about 80 ms per commit at 1M snapshot rows and ten
 * times that at 10M; the fold pays that scan once per run instead of once per commit.
 */
import { sql } from 'kysely';
import type { StateStore } from '../db/state-store.js';
import { literal } from './failed-row-index.js';
import { transact } from './transact.js';

export async function foldSnapshotLog(store: StateStore, syncName: string): Promise<void> {
  const sync = literal(syncName);
  const { rows } = await sql<{ n: number }>`select count(*) as n from sync_snapshot_log where sync_name = ${syncName}`.execute(store.db);
  if (Number(rows[0].n) === 0) return;
  // A key is sent at most once per run and the log is folded before each plan, so it holds one entry
  // per key; the latest wins all the same.
  const latest = `(select primary_key, row_hash, destination_id, synced_at, run_id from (
      select l.*, row_number() over (partition by primary_key order by synced_at desc, run_id desc) as n
      from sync_snapshot_log l where sync_name = ${sync}) x where n = 1)`;
  await transact(store, [
    `update sync_snapshots set row_hash = f.row_hash, destination_id = f.destination_id, synced_at = f.synced_at, run_id = f.run_id
      from ${latest} as f
      where sync_snapshots.sync_name = ${sync} and sync_snapshots.primary_key = f.primary_key and f.row_hash is not null`,
    `delete from sync_snapshots where sync_name = ${sync}
      and primary_key in (select primary_key from sync_snapshot_log where sync_name = ${sync} and row_hash is null)`,
    `insert into sync_snapshots (sync_name, primary_key, row_hash, destination_id, synced_at, run_id)
      select ${sync}, f.primary_key, f.row_hash, f.destination_id, f.synced_at, f.run_id from ${latest} as f
      where f.row_hash is not null
        and not exists (select 1 from sync_snapshots s where s.sync_name = ${sync} and s.primary_key = f.primary_key)`,
    `delete from sync_pending where sync_name = ${sync}
      and primary_key in (select primary_key from sync_snapshot_log where sync_name = ${sync})`,
    `delete from sync_snapshot_log where sync_name = ${sync}`,
  ]);
}
