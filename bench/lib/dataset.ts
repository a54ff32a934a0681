/**
 * Bench projects: a DuckDB warehouse with a generated model, an `http` destination pointing at the
 * bench sink, and a state store whose snapshot is seeded directly with the engine's own hash
 * definition (running the engine once over 10M rows through HTTP would take longer than the bench).
 *
 * Rows are a pure function of their id, so "the previous run" is the same generator with some rows
 * altered, some left out (they are "added" now) and some extra ids (they are "removed" now).
 */
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '../../core/db/duckdb-api.js';
import { sql } from 'kysely';
import { loadProject } from '../../core/config/load-project.js';
import { openStateStore } from '../../core/state/state-store.js';
import { duckdbPayloadSql } from '../../core/plan/stage-model.js';
import { legacyHashSql, rowHashIdentity, valuesHashSql } from '../../core/plan/row-hash.js';
import { rowHashNumberSql } from '../../core/state/row-hash-number.js';
import { mappingHash } from '../../core/plan/planner.js';
import type { SyncConfig } from '../../core/config/types.js';

export type Shape = 'narrow' | 'wide';

/** 10 columns: the plan benchmarks' model. */
const NARROW: Array<[string, string]> = [
  ['id', 'i'],
  ['email', `'user' || i || '@example.com'`],
  ['first_name', `'First' || (i % 1000)`],
  ['last_name', `'Last' || (i % 5000)`],
  ['plan', `(['free', 'pro', 'team', 'enterprise'])[1 + i % 4]`],
  ['score', `cast((i * 7919) % 1000 as integer)`],
  ['ltv', `round(((i * 104729) % 100000) / 100.0, 2)::double`],
  ['active', `i % 3 = 0`],
  ['created_at', `timestamp '2020-01-01' + to_seconds(i % 100000000)`],
  ['country', `(['US', 'DE', 'FR', 'GB', 'JP'])[1 + i % 5]`],
];

/** 60 columns, ~2.5 kB of JSON per row: a CPU-heavy payload for the worker-scaling benchmark. */
const WIDE: Array<[string, string]> = [
  ['id', 'i'],
  ['score', `cast((i * 7919) % 1000 as integer)`],
  ...Array.from({ length: 29 }, (_, k): [string, string] => [
    `t${k}`,
    `'text value ' || ${k} || ' of row ' || i || ' with some padding to make it longer'`,
  ]),
  ...Array.from({ length: 29 }, (_, k): [string, string] => [`n${k}`, `((i * ${k + 3}) % 100003) / 7.0`]),
];

export const columnsOf = (shape: Shape) => (shape === 'wide' ? WIDE : NARROW);

export type Target = 'http' | 'salesforce';

/** The Salesforce object the bench writes, and its External ID field. */
export const SF_OBJECT = 'Bench__c';
export const SF_EXTERNAL_ID = 'External_Key__c';
/** The emulator's access token: not a secret, the emulator runs on loopback for the bench only. */
export const BENCH_SF_TOKEN = 'bench-access-token';

/**
 * The mapping every bench sync uses: each model column to a destination field named after it
 * (custom `__c` fields on Salesforce), the id to the key field.
 */
export function mappingOf(shape: Shape, target: Target = 'http'): Record<string, string> {
  const field = (c: string) =>
    target === 'salesforce'
      ? c === 'id'
        ? SF_EXTERNAL_ID
        : `${c[0].toUpperCase()}${c.slice(1)}__c`
      : c === 'id'
        ? 'external_key'
        : `F_${c}`;
  return Object.fromEntries(columnsOf(shape).map(([c]) => [field(c), c]));
}

/** What differs between the snapshot (the previous run) and the model, as predicates on the id `i`. */
export interface SeedOptions {
  legacy?: boolean;
  /** Default true: `bench_prev` holds the md5 baseline's hashes too. */
  md5?: boolean;
}

export interface Diff {
  /** Rows whose values changed since the last run: one in `changedEvery`. */
  changedEvery?: number;
  /** Rows new since the last run: one in `addedEvery` (not in the snapshot). */
  addedEvery?: number;
  /** Rows gone since the last run: this many extra ids past the model's end, in the snapshot only. */
  removed?: number;
}

/** Changed rows are those with i % k == 2 % k (every row when k is 1); added rows, i % k == 1. */
const changedWhere = (k: number) => `i % ${k} = ${2 % k}`;

export function expectedCounts(rows: number, diff: Diff) {
  const changed = diff.changedEvery ? countMod(rows, diff.changedEvery, 2 % diff.changedEvery) : 0;
  const added = diff.addedEvery ? countMod(rows, diff.addedEvery, 1) : 0;
  return { changed, added, removed: diff.removed ?? 0 };
}

/** How many i in 1..n have i % k == r (0 <= r < k). */
function countMod(n: number, k: number, r: number): number {
  return r === 0 ? Math.floor(n / k) : n < r ? 0 : Math.floor((n - r) / k) + 1;
}

export function generator(shape: Shape, rangeSql: string, alter: string | null): string {
  const cols = columnsOf(shape).map(([name, expr]) =>
    name === 'score' && alter ? `cast(${expr} + (case when ${alter} then 1 else 0 end) as integer) as ${name}` : `${expr} as ${name}`,
  );
  return `select ${cols.join(', ')} from ${rangeSql} t(i)`;
}

/** Creates (once) a warehouse file holding `model` with ids 1..rows. */
export async function ensureWarehouse(dataDir: string, shape: Shape, rows: number): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, `${shape}-${rows}.duckdb`);
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true });
  const instance = await DuckDBInstance.create(tmp, { memory_limit: '2GB', threads: '2' });
  const connection = await instance.connect();
  try {
    await connection.run(`create table model as ${generator(shape, `range(1, ${rows + 1})`, null)}`);
    await connection.run('checkpoint');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await copyFile(tmp, path);
  await rm(tmp, { force: true });
  return path;
}

export interface ProjectOptions {
  shape: Shape;
  /** Default http: the bench sink at $BENCH_SINK_URL; salesforce: the emulator at $BENCH_SF_URL. */
  target?: Target;
  rows: number;
  mode?: 'upsert' | 'mirror';
  batchSize?: number;
  concurrency?: number;
  workers?: number;
  retry?: { attempts?: number; base_delay_ms?: number; max_delay_ms?: number };
  /** salesforce: the sync's `api:` (rest: sObject Collections, bulk: Bulk API 2.0). Default: auto. */
  api?: 'auto' | 'rest' | 'bulk';
}

export interface BenchProject {
  dir: string;
  statePath: string;
  warehousePath: string;
  /** The seeded state file, copied back before every measured `run` (a run changes the state). */
  seededStatePath: string;
  options: ProjectOptions;
}

/** A project folder over an existing warehouse file; the sink URL comes from $BENCH_SINK_URL. */
export async function createProject(dir: string, warehousePath: string, options: ProjectOptions): Promise<BenchProject> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'models'), { recursive: true });
  await mkdir(join(dir, 'syncs'), { recursive: true });
  await writeFile(
    join(dir, 'hightouch-like.config.yaml'),
    `warehouse: { type: duckdb, path: ${JSON.stringify(warehousePath)} }
state: { type: duckdb, path: .hightouch-like/state.duckdb }
destinations:
  sink:
${
  options.target === 'salesforce'
    ? '    type: salesforce\n    instance_url: ${BENCH_SF_URL}\n    access_token: ${BENCH_SF_TOKEN}\n    bulk_poll_ms: 250\n'
    : '    type: http\n    url: ${BENCH_SINK_URL}\n'
}`,
  );
  await writeFile(join(dir, 'models/bench.sql'), 'select * from model\n');
  await writeSyncFile(dir, options);
  const statePath = join(dir, '.hightouch-like/state.duckdb');
  return { dir, statePath, warehousePath, seededStatePath: join(dir, 'seeded-state.duckdb'), options };
}

/** The raw baselines' table of the previous run's hashes: `bench_prev(pk text, h ubigint, md5 text)`. */
export const RAW_PREV_TABLE = 'bench_prev';

/** The raw diff's hash of the mapped columns of `alias`: DuckDB's `hash(c1, …, cN)`, nothing folded in. */
export const rawValuesHashSql = (shape: Shape, alias: string) =>
  `hash(${columnsOf(shape)
    .map(([c]) => `${alias}.${c}`)
    .join(', ')})`;

/**
 * Writes the snapshot of "the previous run" straight into `sync_snapshots`, hashing each row with the
 * engine's own hash expressions (imported from the planner), records the hash identity the engine
 * would, and the raw baselines' own hashes of the same rows in `bench_prev`; then keeps a copy of the
 * state file so every measured run starts from the same state. `legacy`: md5 hashes, as a state store
 * written before migration 14 holds (an upgrade's first plan). `md5: false` leaves `bench_prev.md5`
 * null: md5 of 100M payloads costs minutes of seeding, for a baseline that size does not measure.
 */
export async function seedSnapshot(
  project: BenchProject,
  diff: Diff,
  env: Record<string, string>,
  { legacy = false, md5 = true }: SeedOptions = {},
): Promise<void> {
  await rm(join(project.dir, '.hightouch-like'), { recursive: true, force: true });
  const config = await loadProject(project.dir, { ...process.env, ...env });
  // Opening the store for writing runs the engine's migrations, so the tables are exactly the engine's.
  const store = await openStateStore(config, { attachWarehouse: false, readOnly: false });
  const run = (text: string) => sql.raw(text).execute(store.db);
  try {
    const { rows, shape } = project.options;
    const alter = diff.changedEvery ? changedWhere(diff.changedEvery) : null;
    const keep = diff.addedEvery ? `where id > ${rows} or id % ${diff.addedEvery} <> 1` : '';
    const range = `range(1, ${rows + (diff.removed ?? 0) + 1})`;
    // 100M keys into the snapshot's primary-key index need more than 2 GB; seeding is not measured.
    await run(`set memory_limit = '${rows > 10_000_000 ? '12GB' : '2GB'}'`);
    await run(`create temp table prev as select * from (${generator(shape, range, alter)}) ${keep}`);
    const mapping = mappingOf(shape, project.options.target);
    const carried = Object.fromEntries(Object.keys(mapping).map((field, i) => [field, `c${i}`]));
    const columns = Object.values(mapping)
      .map((c, i) => `p.${c} as c${i}`)
      .join(', ');
    const types = (await sql.raw<{ column_type: string }>(`describe select ${columns} from prev p`).execute(store.db)).rows.map(
      (r) => r.column_type,
    );
    const rowHash = legacy ? legacyHashSql(duckdbPayloadSql(carried, 'x')) : `cast(${valuesHashSql(mapping, types, 'x')} as varchar)`;
    await run(`
      insert into sync_snapshots (sync_name, primary_key, row_hash, row_hash_u64, destination_id, synced_at, run_id)
      select 'bench', pk, h, ${rowHashNumberSql('duckdb', 'h')}, null, timestamptz '2024-01-01 00:00:00+00', 'seed'
      from (select cast(x.c0 as text) as pk, ${rowHash} as h from (select ${columns} from prev p) x)`);
    if (!legacy) {
      const identity = await rowHashIdentity(store, 'values');
      const sync = { primary_key: 'id', mapping } as unknown as SyncConfig;
      await run(`insert into sync_state (sync_name, mapping_hash, row_hash_identity, updated_at)
        values ('bench', '${mappingHash(sync)}', '${identity}', now())`);
    }
    await run(`create table ${RAW_PREV_TABLE} as select cast(p.id as text) as pk, ${rawValuesHashSql(shape, 'p')} as h,
        ${md5 ? legacyHashSql(duckdbPayloadSql(mapping, 'p')) : 'cast(null as varchar)'} as md5 from prev p`);
    await run('drop table prev');
    await run('checkpoint');
  } finally {
    await store.close();
  }
  await copyFile(project.statePath, project.seededStatePath);
}

/** Writes `syncs/bench.yaml`; rewriting it changes settings without touching the seeded state. */
export async function writeSyncFile(dir: string, options: ProjectOptions): Promise<void> {
  const mapping = mappingOf(options.shape, options.target);
  const lines = [
    'model: bench',
    'destination: sink',
    'primary_key: id',
    `mode: ${options.mode ?? 'upsert'}`,
    ...(options.target === 'salesforce' ? [`object: ${SF_OBJECT}`, `external_id: ${SF_EXTERNAL_ID}`] : []),
    'mapping:',
    ...Object.entries(mapping).map(([f, c]) => `  ${f}: ${c}`),
  ];
  if (options.batchSize) lines.push(`batch_size: ${options.batchSize}`);
  if (options.concurrency) lines.push(`concurrency: ${options.concurrency}`);
  if (options.workers) lines.push(`workers: ${options.workers}`);
  if (options.retry) lines.push(`retry: ${JSON.stringify(options.retry)}`);
  if (options.api) lines.push(`api: ${options.api}`);
  await writeFile(join(dir, 'syncs/bench.yaml'), lines.join('\n') + '\n');
}

/** Puts the seeded state back (a measured `run` moves the snapshot forward). */
export async function restoreState(project: BenchProject): Promise<void> {
  await rm(join(project.dir, '.hightouch-like'), { recursive: true, force: true });
  await mkdir(join(project.dir, '.hightouch-like'), { recursive: true });
  await copyFile(project.seededStatePath, project.statePath);
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
