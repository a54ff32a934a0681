/**
 * The state tables: the public SQL surface (documented column by column in README.md).
 * `sync_snapshots` and `sync_state` are engine-internal: readable, but not a contract.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<string, string, string>;

export type RunStatus = 'running' | 'succeeded' | 'completed_with_errors' | 'failed' | 'cancelled';

export interface SyncRunsTable {
  run_id: string;
  sync_name: string;
  status: RunStatus;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  rows_planned: number;
  rows_succeeded: number;
  rows_failed: number;
  rows_invalid: number;
  api_calls: number;
  error: string | null;
  rows_added: number;
  rows_changed: number;
  rows_removed: number;
  rows_retrying: number;
  full_resync: boolean;
  /** The queue job that asked for the run (several `serve` processes); null otherwise. */
  trigger_id: string | null;
}

/**
 * - `retrying`: sent again by the first run at or after `next_retry_at`;
 * - `blocked`: its error cannot pass with the same values; skipped until a mapped value or the mapping changes;
 * - `timeout_queue`: out of tries; sent again at the next slot of the sync's timeout-queue schedule.
 */
export type FailedRowStatus = 'retrying' | 'blocked' | 'timeout_queue';

export interface FailedRowsTable {
  sync_name: string;
  primary_key: string;
  error_class: string;
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: Timestamp;
  last_failed_at: Timestamp;
  next_retry_at: Timestamp | null;
  status: FailedRowStatus;
  run_id: string;
  op: string;
  tries: number | null;
  remediation: string | null;
  destination_id: string | null;
  row_hash: string | null;
  mapping_hash: string | null;
}

export interface SyncChangelogTable {
  run_id: string;
  sync_name: string;
  primary_key: string;
  op: 'insert' | 'update' | 'delete';
  status: 'succeeded' | 'failed' | 'aborted';
  error_code: string | null;
  error_message: string | null;
  at: Timestamp;
}

export interface SyncSnapshotsTable {
  sync_name: string;
  primary_key: string;
  row_hash: string;
  destination_id: string | null;
  synced_at: Timestamp;
  run_id: string;
}

/** Acknowledged rows not yet folded into `sync_snapshots`; `row_hash` null records a delete. */
export interface SyncSnapshotLogTable {
  sync_name: string;
  primary_key: string;
  row_hash: string | null;
  destination_id: string | null;
  synced_at: Timestamp;
  run_id: string;
}

export interface SyncPendingTable {
  sync_name: string;
  primary_key: string;
  run_id: string;
  at: Timestamp;
}

export interface SyncStateTable {
  sync_name: string;
  mapping_hash: string;
  updated_at: Timestamp;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: Timestamp;
}

export interface StateTables {
  sync_runs: SyncRunsTable;
  failed_rows: FailedRowsTable;
  sync_changelog: SyncChangelogTable;
  sync_snapshots: SyncSnapshotsTable;
  sync_snapshot_log: SyncSnapshotLogTable;
  sync_state: SyncStateTable;
  sync_pending: SyncPendingTable;
  hightouch_like_migrations: MigrationsTable;
}

export type { Generated };
