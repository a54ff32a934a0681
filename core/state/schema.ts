/**
 * The state tables: the public SQL surface (documented column by column in README.md).
 * `sync_snapshots` and `sync_state` are engine-internal: readable, but not a contract.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<string, string, string>;

/** `deferred`: the destination's API budget stopped the run before every row was sent; nothing was rejected for it. */
export type RunStatus = 'running' | 'succeeded' | 'completed_with_errors' | 'failed' | 'cancelled' | 'deferred';

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
  /** Failed-row retries the API budget held back (README "API budget"), and why. */
  retries_held: number | null;
  retries_held_reason: string | null;
  /** Rows left unsent because the API budget ran out (daily quota, max_calls_per_run): the next run sends them. */
  rows_deferred: number | null;
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
  /** `row_hash` as a number, null when it is not one (migration 15, core/state/row-hash-number.ts). */
  row_hash_u64: bigint | string | null;
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
  /** The hash function of the sync's stored row hashes (migration 14; null: md5 only, from before it). */
  row_hash_identity: string | null;
  updated_at: Timestamp;
}

export type HealthState = 'healthy' | 'warning' | 'failing' | 'paused' | 'credentials_required';

/** Who paused a sync: a person (`pause`) or a policy of the engine. */
export type PausedBy = 'person' | 'policy';

export interface SyncHealthTable {
  sync_name: string;
  state: HealthState;
  /** When the sync entered `state`. */
  since: Timestamp;
  reason: string | null;
  consecutive_failures: number;
  /** Runs in a row that ended with rows the destination rejected. */
  consecutive_rejections: number;
  last_run_id: string | null;
  paused_by: PausedBy | null;
  /** The trigger of the alert sent and not yet resolved by a recovery; null when none is open. */
  alert: string | null;
  /** When that alert (or its last reminder) was sent. */
  alerted_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface EventsTable {
  event_id: string;
  at: Timestamp;
  sync_name: string;
  /** Null for the first state a sync is given. */
  from_state: HealthState | null;
  to_state: HealthState;
  reason: string | null;
  run_id: string | null;
  /** Null for a change of health state; `field_dropped` when self-healing dropped a field from the payloads. */
  kind: string | null;
  /** The action of a person that wrote the row (README "Dashboard"); null for a change a run made. */
  action: EventAction | null;
}

/** The last API usage seen per destination, and when a spent daily quota should allow sending again. */
export interface ApiBudgetTable {
  destination_name: string;
  used: number | null;
  api_limit: number | null;
  observed_at: Timestamp | null;
  exhausted_until: Timestamp | null;
  exhausted_reason: string | null;
  updated_at: Timestamp;
}

/** Calls this tool made per destination and hour, for the rolling 24-hour count. */
export interface ApiCallsTable {
  destination_name: string;
  hour: Timestamp;
  calls: number;
}

/** Actions of the dashboard, the API and the CLI, recorded in `events`. */
export type EventAction = 'trigger' | 'retry' | 'unblock' | 'pause' | 'resume';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface AlertDeliveriesTable {
  delivery_id: string;
  event_id: string | null;
  sync_name: string;
  channel: string;
  channel_type: string;
  kind: 'alert' | 'reminder' | 'recovery';
  trigger: string;
  state: HealthState;
  run_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

/** A Bulk API job whose results are not committed yet (see migration 9). */
export interface BulkJobsTable {
  job_id: string;
  sync_name: string;
  run_id: string;
  /** The batch's write op: insert, update or delete. */
  op: 'insert' | 'update' | 'delete';
  created_at: Timestamp;
}

/** The planned rows a Bulk API job carries. */
export interface BulkJobRowsTable {
  job_id: string;
  primary_key: string;
  op: 'insert' | 'update' | 'delete';
  payload: string | null;
  row_hash: string | null;
  destination_id: string | null;
  retrying: boolean | null;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: Timestamp;
}

export interface ExtractRunsTable {
  run_id: string;
  extract_name: string;
  /** running, succeeded, failed, paused (healing gave up), deferred (max_calls_per_run reached). */
  status: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  full_load: boolean;
  /** rest or bulk: how the changed records were read. */
  api: string | null;
  rows_read: number;
  rows_deleted: number;
  api_calls: number;
  cursor_from: Timestamp | null;
  cursor_to: Timestamp | null;
  error_code: string | null;
  /** The failure class of error_code (auth: the source refused the credentials). */
  error_class: string | null;
  error: string | null;
}

export interface ExtractEventsTable {
  event_id: string;
  at: Timestamp;
  extract_name: string;
  run_id: string | null;
  kind: string;
  reason: string | null;
}

export interface ExtractCursorsTable {
  extract_name: string;
  cursor_at: Timestamp | null;
  deletes_at: Timestamp | null;
  /** Comma-separated fields healing dropped from the query; their columns stay, no longer filled. */
  dropped_fields: string | null;
  paused_reason: string | null;
  paused_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface StateTables {
  extract_runs: ExtractRunsTable;
  extract_events: ExtractEventsTable;
  extract_cursors: ExtractCursorsTable;
  sync_runs: SyncRunsTable;
  api_budget: ApiBudgetTable;
  api_calls: ApiCallsTable;
  failed_rows: FailedRowsTable;
  sync_changelog: SyncChangelogTable;
  sync_snapshots: SyncSnapshotsTable;
  sync_snapshot_log: SyncSnapshotLogTable;
  sync_state: SyncStateTable;
  sync_pending: SyncPendingTable;
  sync_health: SyncHealthTable;
  events: EventsTable;
  alert_deliveries: AlertDeliveriesTable;
  bulk_jobs: BulkJobsTable;
  bulk_job_rows: BulkJobRowsTable;
  hightouch_like_migrations: MigrationsTable;
}

export type { Generated };
