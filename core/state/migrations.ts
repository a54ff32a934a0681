/**
 * Numbered, append-only migrations of the state store. The SQL is the portable subset shared by
 * DuckDB and PostgreSQL, so one list serves both. Never edit a released migration: add the next one.
 */
import { sql, type Kysely } from 'kysely';
import type { StateTables } from './schema.js';
import { rowHashNumberSql } from './row-hash-number.js';
import { UserError } from '../../shared/errors.js';

interface Migration {
  version: number;
  name: string;
  statements: string[];
  /** PostgreSQL's statements where its types differ (DuckDB runs `statements`). */
  postgres?: string[];
}

const migrations: Migration[] = [
  {
    version: 1,
    name: 'state tables',
    statements: [
      `create table if not exists sync_runs (
        run_id text primary key,
        sync_name text not null,
        status text not null,
        started_at timestamptz not null,
        finished_at timestamptz,
        rows_planned bigint not null default 0,
        rows_succeeded bigint not null default 0,
        rows_failed bigint not null default 0,
        rows_invalid bigint not null default 0,
        api_calls bigint not null default 0,
        error text,
        rows_added bigint not null default 0,
        rows_changed bigint not null default 0,
        rows_removed bigint not null default 0,
        rows_retrying bigint not null default 0,
        full_resync boolean not null default false
      )`,
      `create table if not exists failed_rows (
        sync_name text not null,
        primary_key text not null,
        error_class text not null,
        error_code text not null,
        error_message text not null,
        attempts integer not null,
        first_failed_at timestamptz not null,
        last_failed_at timestamptz not null,
        next_retry_at timestamptz,
        status text not null,
        run_id text not null,
        op text not null,
        primary key (sync_name, primary_key)
      )`,
      `create table if not exists sync_changelog (
        run_id text not null,
        sync_name text not null,
        primary_key text not null,
        op text not null,
        status text not null,
        error_code text,
        error_message text,
        "at" timestamptz not null
      )`,
      `create table if not exists sync_snapshots (
        sync_name text not null,
        primary_key text not null,
        row_hash text not null,
        destination_id text,
        synced_at timestamptz not null,
        run_id text not null,
        primary key (sync_name, primary_key)
      )`,
      `create table if not exists sync_state (
        sync_name text primary key,
        mapping_hash text not null,
        updated_at timestamptz not null
      )`,
    ],
  },
  {
    version: 2,
    name: 'pending sends',
    statements: [
      // Keys handed to the destination but not yet acknowledged in the snapshot. After a kill they
      // may exist in the destination, so mirror mode must still delete them when they leave the model.
      `create table if not exists sync_pending (
        sync_name text not null,
        primary_key text not null,
        run_id text not null,
        "at" timestamptz not null,
        primary key (sync_name, primary_key)
      )`,
    ],
  },
  {
    version: 3,
    name: 'snapshot log',
    statements: [
      // What each commit acknowledged, appended; folded into sync_snapshots once per run (snapshot-log.ts).
      // A null row_hash records a delete.
      `create table if not exists sync_snapshot_log (
        sync_name text not null,
        primary_key text not null,
        row_hash text,
        destination_id text,
        synced_at timestamptz not null,
        run_id text not null
      )`,
    ],
  },
  {
    version: 4,
    name: 'pending sends without a key index',
    statements: [
      // DuckDB removes rows from an ART index one by one: clearing 100k pending keys took 5.5 s and
      // its commit 4 s more, against 0.07 s without the index. markPending keeps the keys unique.
      `create table sync_pending_unindexed (
        sync_name text not null,
        primary_key text not null,
        run_id text not null,
        "at" timestamptz not null
      )`,
      `insert into sync_pending_unindexed select sync_name, primary_key, run_id, "at" from sync_pending`,
      `drop table sync_pending`,
      `alter table sync_pending_unindexed rename to sync_pending`,
    ],
  },
  {
    version: 5,
    name: 'schedule claims',
    statements: [
      // Several serve processes see each slot come; the one whose insert lands enqueues its run
      // (core/service/fleet.ts). A row per slot run: 96 a day for a sync every 15 minutes.
      `create table if not exists schedule_claims (
        sync_name text not null,
        slot_at timestamptz not null,
        claimed_by text not null,
        claimed_at timestamptz not null,
        primary key (sync_name, slot_at)
      )`,
      // The queue job that asked for a run (fleet mode): a job retried after its expiry finds the run it
      // already started, and does not run the sync a second time once that run has finished.
      `alter table sync_runs add column trigger_id text`,
    ],
  },
  {
    version: 6,
    name: 'failed-row lifecycle',
    statements: [
      // tries: runs that sent the row and saw it fail (attempts counts sends, several per run with
      // in-run retries and splitting); the cadence cap counts tries. row_hash and mapping_hash are what
      // a blocked row failed with: it is sent again once either changes.
      'alter table failed_rows add column tries integer default 1',
      'alter table failed_rows add column remediation text',
      'alter table failed_rows add column destination_id text',
      'alter table failed_rows add column row_hash text',
      'alter table failed_rows add column mapping_hash text',
    ],
  },
  {
    version: 7,
    name: 'sync health, events, alert deliveries',
    statements: [
      // One row per sync that has run or been paused: its health state and the counters behind it.
      `create table if not exists sync_health (
        sync_name text primary key,
        state text not null,
        since timestamptz not null,
        reason text,
        consecutive_failures integer not null default 0,
        consecutive_rejections integer not null default 0,
        last_run_id text,
        paused_by text,
        alert text,
        alerted_at timestamptz,
        updated_at timestamptz not null
      )`,
      // Every change of a sync's health state, appended in the transaction that makes it.
      `create table if not exists events (
        event_id text primary key,
        "at" timestamptz not null,
        sync_name text not null,
        from_state text,
        to_state text not null,
        reason text,
        run_id text
      )`,
      // One row per notification per channel: pending when decided, then delivered or failed.
      `create table if not exists alert_deliveries (
        delivery_id text primary key,
        event_id text,
        sync_name text not null,
        channel text not null,
        channel_type text not null,
        kind text not null,
        "trigger" text not null,
        state text not null,
        run_id text,
        status text not null,
        attempts integer not null default 0,
        last_error text,
        created_at timestamptz not null,
        finished_at timestamptz
      )`,
    ],
  },
  {
    version: 8,
    name: 'API budget per destination, deferred runs, schema-heal events',
    statements: [
      // The org's API usage as last seen (Sforce-Limit-Info, /limits) and, once its daily quota is
      // spent, the instant before which no run sends to the destination.
      `create table if not exists api_budget (
        destination_name text primary key,
        used bigint,
        api_limit bigint,
        observed_at timestamptz,
        exhausted_until timestamptz,
        exhausted_reason text,
        updated_at timestamptz not null
      )`,
      // Our own calls per destination and hour: the rolling 24 h count when the destination reports no limit.
      `create table if not exists api_calls (
        destination_name text not null,
        "hour" timestamptz not null,
        calls bigint not null default 0,
        primary key (destination_name, "hour")
      )`,
      'alter table sync_runs add column retries_held bigint default 0',
      'alter table sync_runs add column retries_held_reason text',
      'alter table sync_runs add column rows_deferred bigint default 0',
      // Null for a change of health state; otherwise what else happened to the sync (`field_dropped`, …).
      'alter table events add column kind text',
    ],
  },
  {
    version: 9,
    name: 'bulk jobs',
    statements: [
      // A Bulk API 2.0 job runs on in Salesforce if our process dies. Its id is recorded before any
      // row is uploaded, with the rows it carries (as planned: hash, stored id, payload to match its
      // results on), so the next run reads its results instead of sending the rows a second time.
      // Both go in the commit that acknowledges the job's rows.
      `create table if not exists bulk_jobs (
        job_id text primary key,
        sync_name text not null,
        run_id text not null,
        op text not null,
        created_at timestamptz not null
      )`,
      `create table if not exists bulk_job_rows (
        job_id text not null,
        primary_key text not null,
        op text not null,
        payload text,
        row_hash text,
        destination_id text,
        retrying boolean
      )`,
    ],
  },
  {
    version: 10,
    name: 'actions in events',
    statements: [
      // What a person did (dashboard, API or CLI): run now, retry, unblock, pause, resume. Null for a
      // health change a run made. An action that changes no state has from_state = to_state.
      'alter table events add column action text',
    ],
  },
  {
    version: 11,
    name: 'extract runs and events',
    statements: [
      // One row per run of an extract (README "Extracts"): what it read, through which API, from which
      // cursor to which, and why it stopped.
      `create table if not exists extract_runs (
        run_id text primary key,
        extract_name text not null,
        status text not null,
        started_at timestamptz not null,
        finished_at timestamptz,
        full_load boolean not null default false,
        api text,
        rows_read bigint not null default 0,
        rows_deleted bigint not null default 0,
        api_calls bigint not null default 0,
        cursor_from timestamptz,
        cursor_to timestamptz,
        error_code text,
        error_class text,
        error text
      )`,
      // What a run healed or noticed: field_dropped, query_restarted, replication_fallback, gzip_retried, paused_by_policy.
      `create table if not exists extract_events (
        event_id text primary key,
        "at" timestamptz not null,
        extract_name text not null,
        run_id text,
        kind text not null,
        reason text
      )`,
    ],
  },
  {
    version: 12,
    name: 'extract cursors',
    statements: [
      // Per extract: the SystemModstamp of the newest landed record (moved only after its rows are
      // committed), the instant up to which deletes were applied, the fields healing dropped, and a pause.
      `create table if not exists extract_cursors (
        extract_name text primary key,
        cursor_at timestamptz,
        deletes_at timestamptz,
        dropped_fields text,
        paused_reason text,
        paused_at timestamptz,
        updated_at timestamptz not null
      )`,
    ],
  },
  {
    // 13 was kept for a Salesforce change that needed no table.
    version: 14,
    name: 'row hash identity',
    statements: [
      // Which hash function made the sync's stored row hashes (core/plan/row-hash.ts): null for
      // snapshots of md5 hashes only, written before this migration.
      'alter table sync_state add column row_hash_identity text',
    ],
  },
  {
    version: 15,
    name: 'numeric row hashes',
    // The row hash as a number beside its text, null where the text is not one (a legacy md5): a DuckDB
    // plan compares it without parsing 10M texts (10M-row diff: 2.7 s against 3.1 s). Only the fold writes
    // sync_snapshots (snapshot-log.ts), and it writes both columns; a row without the number is changed.
    statements: [
      'alter table sync_snapshots add column row_hash_u64 ubigint',
      `update sync_snapshots set row_hash_u64 = ${rowHashNumberSql('duckdb', 'row_hash')}`,
    ],
    postgres: [
      'alter table sync_snapshots add column row_hash_u64 numeric(20, 0)',
      `update sync_snapshots set row_hash_u64 = ${rowHashNumberSql('postgres', 'row_hash')}`,
    ],
  },
  {
    version: 16,
    name: 'signed row hashes as numbers',
    // PostgreSQL's signed hashes (a PostgreSQL warehouse) get their unsigned reading too, so a plan of a
    // PostgreSQL warehouse into DuckDB state compares numbers as well (row-hash-number.ts). Before, DuckDB
    // left them null and PostgreSQL kept them negative.
    statements: [
      `update sync_snapshots set row_hash_u64 = ${rowHashNumberSql('duckdb', 'row_hash')} where row_hash_u64 is null and row_hash like '-%'`,
    ],
    postgres: ['update sync_snapshots set row_hash_u64 = row_hash_u64 + 18446744073709551616 where row_hash_u64 < 0'],
  },
];

/** The newest migration this version knows: a state store past it was written by a newer version. */
const NEWEST = Math.max(...migrations.map((m) => m.version));

export async function migrate(db: Kysely<StateTables>, dialect: 'duckdb' | 'postgres'): Promise<void> {
  await sql`create table if not exists hightouch_like_migrations (
    version integer primary key, name text not null, applied_at timestamptz not null)`.execute(db);
  const applied = new Set((await db.selectFrom('hightouch_like_migrations').select('version').execute()).map((r) => Number(r.version)));
  // An earlier version would write the snapshot without the columns later migrations added (a stale
  // numeric row hash could then pass a changed row as unchanged): it must not run on a newer store.
  const newer = Math.max(...applied);
  if (newer > NEWEST) {
    throw new UserError(
      `the state store was migrated by a newer hightouch-like (migration ${newer}; this version knows up to ${NEWEST}).`,
      {
        field: 'state',
        hint: 'upgrade hightouch-like to the version that last ran on this state store.',
      },
    );
  }
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    const statements = dialect === 'postgres' ? (migration.postgres ?? migration.statements) : migration.statements;
    await db.transaction().execute(async (trx) => {
      for (const statement of statements) await sql.raw(statement).execute(trx);
      await trx
        .insertInto('hightouch_like_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: new Date().toISOString() })
        .execute();
    });
  }
}
