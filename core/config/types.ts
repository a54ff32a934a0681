/** The resolved, validated shape of a project: what every later stage reads. */

export type DatabaseConfig =
  | { type: 'duckdb'; path: string }
  | { type: 'postgres'; url: string /** state only: the role `query` connects as, instead of `url`. */; query_url?: string };

import type { RetryPolicy, SyncMode } from '../../connectors/destination.js';
import type { Schedule } from './schedule.js';
import type { FailedRowsPolicy } from './failed-rows-policy.js';

export type { FailedRowsPolicy };

/** Owned by the connector contract, which depends on nothing in core/. */
export type { RetryPolicy, SyncMode };

export interface DestinationConfig {
  name: string;
  type: string;
  /** Connector-specific settings, `${ENV}` already resolved. May hold secrets: never log them. */
  settings: Record<string, unknown>;
  batch_size?: number;
  concurrency?: number;
  workers?: number;
  retry?: Partial<RetryPolicy>;
  /** `api_budget:` (README "API budget"); absent keys take the defaults. */
  api_budget?: ApiBudgetConfig;
}

export interface ApiBudgetConfig {
  hold_retries_above_share?: number;
  hold_retries_after_calls?: number;
  max_calls_per_run?: number;
  resume_after_minutes?: number;
}

export interface ModelConfig {
  name: string;
  /** Path relative to the project directory, for messages. */
  file: string;
  /** The file's text, trailing whitespace removed; the warehouse checks that it is exactly one query. */
  sql: string;
  primary_key?: string;
}

export interface SyncConfig {
  name: string;
  /** Path relative to the project directory, for messages. */
  file: string;
  model: string;
  destination: string;
  primary_key: string;
  mode: SyncMode;
  /** Destination field → model column. */
  mapping: Record<string, string>;
  batch_size?: number;
  concurrency?: number;
  workers?: number;
  retry?: Partial<RetryPolicy>;
  /** When the scheduler starts it; `manual` unless the sync file says otherwise. */
  schedule: Schedule;
  /** What happens to a failed row across runs (`failed_rows:`); defaults retry it on every run. */
  failed_rows: FailedRowsPolicy;
  /** `sync_runs` and `sync_changelog` rows older than this are pruned after each run (`retention:`). */
  retention_ms: number;
  /** Mirror mode: the largest share of the synced rows one run may delete without `--allow-deletes`. */
  delete_guard?: { max_share: number };
  /** `alerts:` of the sync file, over the project's. */
  alerts?: SyncAlerts;
  /** Destination-specific keys of the sync file (`table`, `object`, `external_id`, …). */
  settings: Record<string, unknown>;
  /** Line of each top-level key and mapping entry, for messages raised after loading. */
  lines: Record<string, number>;
}

/** `scheduler:` and `service:` of the project file: how `serve` runs. */
export interface ServiceConfig {
  /** Runs at once over all syncs (`scheduler.max_parallel`). */
  maxParallel: number;
  /** PostgreSQL state: seconds after which a run's queue job expires and another process may take it over (`scheduler.takeover_seconds`). */
  takeoverSeconds: number;
  /** PostgreSQL state: the schema holding pg-boss's tables (`scheduler.queue_schema`). */
  queueSchema: string;
  /** Address the HTTP API listens on (`service.host`); beyond loopback only with a token. */
  host: string;
  /** `service.port`; 0 lets the system pick one. */
  port: number;
  /** `service.token` (from ${ENV}): every request must carry it; required to bind beyond loopback. */
  token: string | null;
}

/** What sends a notification; a number is the trigger's threshold, false turns it off. */
export interface AlertTriggers {
  run_failed: boolean;
  consecutive_failures: number | false;
  rejected_share: number | false;
  credentials_required: boolean;
  paused_by_policy: boolean;
  recovery: boolean;
}

export type AlertChannelConfig =
  | { name: string; type: 'webhook'; url: string /** HMAC key: a secret. */; secret: string }
  | { name: string; type: 'slack' /** The incoming-webhook URL is itself a secret. */; url: string }
  | {
      name: string;
      type: 'email';
      host: string;
      port: number;
      tls: 'starttls' | 'implicit' | 'none';
      caFile?: string;
      user?: string;
      password?: string;
      from: string;
      to: string[];
    };

/** `alerts:` of the project file, defaults applied. */
export interface AlertsConfig {
  channels: Record<string, AlertChannelConfig>;
  triggers: AlertTriggers;
  reminderMs: number | null;
  retry: RetryPolicy;
}

/** `alerts:` of a sync file: only what it sets. */
export interface SyncAlerts {
  triggers: Partial<AlertTriggers>;
  reminderMs?: number;
  /** Channel names; absent means every channel of the project. */
  channels?: string[];
}

/** `sources.<name>` of the project file: where extracts read. */
export interface SourceConfig {
  name: string;
  type: string;
  /** Connector settings, `${ENV}` resolved. Holds tokens: never log them. */
  settings: Record<string, unknown>;
  /** `api_budget.max_calls_per_run`: the default of the extracts reading this source. */
  max_calls_per_run?: number;
}

/**
 * Where landed tables live (README "Landed tables"). DuckDB: a file of its own, attached read-only to
 * models as catalog `landed`, so the warehouse stays read-only and no process holds a writer's lock on
 * the warehouse. PostgreSQL: schema `schema` of the warehouse database (or of `url`).
 */
export type LandingConfig = { type: 'duckdb'; path: string } | { type: 'postgres'; url: string; schema: string };

export type ExtractApi = 'auto' | 'rest' | 'bulk';

/** `extracts/<name>.yaml`: one object of a source landed in one table. */
export interface ExtractConfig {
  name: string;
  file: string;
  source: string;
  object: string;
  /** API names, or `all` readable fields. */
  fields: string[] | 'all';
  table: string;
  filter: string | null;
  schedule: Schedule;
  api: ExtractApi;
  bulk_threshold: number;
  overlap_ms: number;
  max_calls_per_run?: number;
  lines: Record<string, number>;
}

export interface ProjectConfig {
  dir: string;
  /** Path of the project file relative to `dir`. */
  file: string;
  warehouse: DatabaseConfig;
  state: DatabaseConfig;
  destinations: Record<string, DestinationConfig>;
  service: ServiceConfig;
  alerts: AlertsConfig;
  models: Record<string, ModelConfig>;
  syncs: Record<string, SyncConfig>;
  sources: Record<string, SourceConfig>;
  extracts: Record<string, ExtractConfig>;
  landing: LandingConfig;
  /** Line of each key of the project file (`warehouse`, `state.url`, `destinations.crm.url`), for messages. */
  lines?: Record<string, number>;
  /** Every value substituted from the environment (of at least `MIN_SECRET_CHARS`), so logs, errors and state can mask them. */
  secrets: string[];
}
