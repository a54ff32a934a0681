/**
 * PostgreSQL-warehouse bench projects: the narrow model as table `model` in schema `bench_pg_<rows>` of
 * the PostgreSQL at $BENCH_PG_URL (default: the test database), and "the previous run" as table `prev`
 * beside it, altered as `Diff` says. Two pairings read it: a DuckDB state file (rows stream through
 * Node) and PostgreSQL state in the same schema (one database). Each state is seeded with the engine's
 * own row hash definition (PostgreSQL's hash of the mapped values, `prev_hash`), and with `bench_prev`, the raw baselines' hashes of `prev`.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { loadProject } from '../../core/config/load-project.js';
import { openStateStore } from '../../core/state/state-store.js';
import { postgresValuesHashSql, rowHashIdentity } from '../../core/plan/row-hash.js';
import { rowHashNumberSql } from '../../core/state/row-hash-number.js';
import { mappedTypes } from '../../core/plan/stage-postgres.js';
import { MODEL_VIEW, POSTGRES_VIEW_TYPES_SQL } from '../../core/db/warehouse.js';
import { POSTGRES_SESSION_SQL } from '../../core/db/session-settings.js';
import { quoteIdent } from '../../core/db/sql-text.js';
import { mappingHash } from '../../core/plan/planner.js';
import type { SyncConfig } from '../../core/config/types.js';
import { columnsOf, mappingOf, writeSyncFile, type Diff } from './dataset.js';

export const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export type PgPairing = 'pg-duckdb' | 'pg-pg';

export const pgSchema = (rows: number) => `bench_pg_${rows}`;
export const pgUrl = (rows: number) => `${PG_URL}?options=${encodeURIComponent(`-c search_path=${pgSchema(rows)}`)}`;

/** The narrow model in PostgreSQL SQL: the same values as `generator('narrow', …)` in DuckDB. */
const PG_NARROW: Record<string, string> = {
  id: 'i::bigint',
  email: `'user' || i || '@example.com'`,
  first_name: `'First' || (i % 1000)`,
  last_name: `'Last' || (i % 5000)`,
  plan: `(array['free', 'pro', 'team', 'enterprise'])[1 + i % 4]`,
  score: `((i * 7919) % 1000)::integer`,
  ltv: `round(((i * 104729) % 100000) / 100.0, 2)::double precision`,
  active: 'i % 3 = 0',
  created_at: `timestamp '2020-01-01' + make_interval(secs => i % 100000000)`,
  country: `(array['US', 'DE', 'FR', 'GB', 'JP'])[1 + i % 5]`,
};

function pgGenerator(from: number, to: number, alter: string | null): string {
  const cols = columnsOf('narrow').map(([name]) =>
    name === 'score' && alter
      ? `(${PG_NARROW.score} + case when ${alter} then 1 else 0 end)::integer as score`
      : `${PG_NARROW[name]} as ${name}`,
  );
  return `select ${cols.join(', ')} from generate_series(${from}::bigint, ${to}::bigint) t(i)`;
}

/** The DuckDB types `read_csv` gives the raw baseline's columns, so both sides of its join hash alike. */
export const RAW_CSV_COLUMNS =
  "{'id': 'BIGINT', 'email': 'VARCHAR', 'first_name': 'VARCHAR', 'last_name': 'VARCHAR', 'plan': 'VARCHAR', " +
  "'score': 'INTEGER', 'ltv': 'DOUBLE', 'active': 'BOOLEAN', 'created_at': 'TIMESTAMP', 'country': 'VARCHAR'}";

/** `psql -c <command>`: the bench's way to COPY, as a client would (pg has no COPY streams). */
export function psql(url: string, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql failed: ${stderr}`))));
  });
}

/** Creates (once) schema `bench_pg_<rows>` with `model`; (re)creates `prev` for `diff`. */
export async function ensurePgWarehouse(rows: number, diff: Diff): Promise<void> {
  const client = new pg.Client(PG_URL);
  await client.connect();
  const schema = pgSchema(rows);
  try {
    const exists = (
      await client.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [schema, 'model'])
    ).rowCount;
    if (!exists) {
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.query(`create schema ${schema}`);
      await client.query(`create table ${schema}.model as ${pgGenerator(1, rows, null)}`);
      await client.query(`analyze ${schema}.model`);
    }
    const alter = diff.changedEvery ? `i % ${diff.changedEvery} = ${2 % diff.changedEvery}` : null;
    const keep = diff.addedEvery ? `where id > ${rows} or id % ${diff.addedEvery} <> 1` : '';
    await client.query(`drop table if exists ${schema}.prev`);
    await client.query(`create table ${schema}.prev as select * from (${pgGenerator(1, rows + (diff.removed ?? 0), alter)}) x ${keep}`);
  } finally {
    await client.end();
  }
}

export interface PgProject {
  dir: string;
  pairing: PgPairing;
  rows: number;
  /** The raw baseline's file of `prev` (pg-duckdb), copied out once at seeding. */
  statePath: string;
}

/** A project folder for `pairing` over schema `bench_pg_<rows>`, its state seeded from `prev`. */
export async function seededPgProject(work: string, pairing: PgPairing, rows: number): Promise<PgProject> {
  const dir = join(work, `${pairing}-${rows}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'models'), { recursive: true });
  await mkdir(join(dir, 'syncs'), { recursive: true });
  const state =
    pairing === 'pg-pg' ? '{ type: postgres, url: "${BENCH_PG_WH_URL}" }' : '{ type: duckdb, path: .hightouch-like/state.duckdb }';
  await writeFile(
    join(dir, 'hightouch-like.config.yaml'),
    `warehouse: { type: postgres, url: "\${BENCH_PG_WH_URL}" }\nstate: ${state}\ndestinations:\n  sink:\n    type: http\n    url: \${BENCH_SINK_URL}\n`,
  );
  await writeFile(join(dir, 'models/bench.sql'), 'select * from model\n');
  await writeSyncFile(dir, { shape: 'narrow', rows });
  const env = { BENCH_PG_WH_URL: pgUrl(rows), BENCH_SINK_URL: 'http://127.0.0.1:9' };
  const config = await loadProject(dir, { ...process.env, ...env });
  const store = await openStateStore(config, { attachWarehouse: false, readOnly: false });
  const schema = pgSchema(rows);
  const mapping = mappingOf('narrow');
  const run = (text: string) => sql.raw(text).execute(store.db);
  // The hashes are PostgreSQL's, in the engine's session settings, whichever database holds the state.
  const client = new pg.Client(pgUrl(rows));
  await client.connect();
  await client.query(POSTGRES_SESSION_SQL);
  const hasher = { probe: async (text: string) => (await client.query({ text, rowMode: 'array' })).rows[0][0] };
  try {
    const declared = new Map(
      (
        await client.query<{ name: string; type: string }>(POSTGRES_VIEW_TYPES_SQL.replace(`'${MODEL_VIEW}'`, `'${schema}.model'`))
      ).rows.map((r) => [r.name, r.type]),
    );
    const columns = Object.values(mapping);
    await client.query(`drop table if exists prev_hash`);
    await client.query(`create table prev_hash as select p.pk, ${postgresValuesHashSql(mapping, mappedTypes(mapping, declared), 'p')} as h
      from (select x.id::text as pk, ${columns.map((c, i) => `x.${quoteIdent(c)} as c${i}`).join(', ')} from prev x) p`);
    if (pairing === 'pg-pg') {
      await run(`delete from sync_snapshots where sync_name = 'bench'`);
      await run(`delete from sync_state where sync_name = 'bench'`);
      await run(`insert into sync_snapshots (sync_name, primary_key, row_hash, row_hash_u64, destination_id, synced_at, run_id)
        select 'bench', pk, h, ${rowHashNumberSql('postgres', 'h')}, null, timestamptz '2024-01-01 00:00:00+00', 'seed'
        from ${schema}.prev_hash`);
      await run(`drop table if exists bench_prev`);
      await run(`create table bench_prev as select p.id::text as pk,
        hash_record_extended(row(${columnsOf('narrow')
          .map(([c]) => `p.${c}`)
          .join(', ')}), 0) as h from ${schema}.prev p`);
    } else {
      await run(`set memory_limit = '2GB'`);
      // The engine's hashes of `prev`, computed by PostgreSQL, copied out.
      const hashes = join(dir, 'prev-hash.csv');
      await psql(pgUrl(rows), `\\copy (select pk, h from prev_hash) to '${hashes}' (format csv)`);
      await run(`insert into sync_snapshots (sync_name, primary_key, row_hash, row_hash_u64, destination_id, synced_at, run_id)
        select 'bench', pk, h, ${rowHashNumberSql('duckdb', 'h')}, null, timestamptz '2024-01-01 00:00:00+00', 'seed'
        from read_csv('${hashes}', columns = {'pk': 'VARCHAR', 'h': 'VARCHAR'}, header = false, auto_detect = false)`);
      await rm(hashes, { force: true });
      // The raw baseline's hashes, from `prev` copied out as CSV and read with the types it reads the model with.
      const csv = join(dir, 'prev.csv');
      await psql(pgUrl(rows), `\\copy (select * from prev) to '${csv}' (format csv)`);
      await run(
        `create table bench_prev as select cast(id as varchar) as pk, hash(${columnsOf('narrow')
          .map(([c]) => c)
          .join(', ')}) as h from read_csv('${csv}', columns = ${RAW_CSV_COLUMNS}, header = false)`,
      );
      await rm(csv, { force: true });
      await run('checkpoint');
    }
    const sync = { primary_key: 'id', mapping } as unknown as SyncConfig;
    await run(`insert into sync_state (sync_name, mapping_hash, row_hash_identity, updated_at)
      values ('bench', '${mappingHash(sync)}', '${await rowHashIdentity(store, 'values', hasher)}', now())`);
  } finally {
    await client.end();
    await store.close();
  }
  return { dir, pairing, rows, statePath: join(dir, '.hightouch-like/state.duckdb') };
}
