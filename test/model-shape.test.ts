/**
 * Which models the planner reads twice (core/plan/model-shape.ts): only a plain read of tables, decided
 * from the warehouse's own EXPLAIN of the model. A real DuckDB database and a CSV file for read_csv; the
 * local PostgreSQL.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBDialect } from '../core/db/duckdb-dialect.js';
import { MODEL_VIEW } from '../core/db/warehouse.js';
import { isPlainPostgresRead, isPlainRead, modelIsPlainRead } from '../core/plan/model-shape.js';
import { usePgAdmin } from './support/postgres-admin.js';

let dir: string;
let instance: DuckDBInstance;
let db: Kysely<any>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ht-shape-'));
  await writeFile(join(dir, 'users.csv'), 'id,email\n1,a@x.io\n');
  instance = await DuckDBInstance.create(join(dir, 'w.duckdb'));
  db = new Kysely<any>({ dialect: new DuckDBDialect(await instance.connect()) });
  await sql`create table users (id integer, email varchar, score integer)`.execute(db);
  await sql`create table more_users (id integer, email varchar, score integer)`.execute(db);
  await sql`create table teams (user_id integer, team varchar)`.execute(db);
  await sql`create view active_users as select id, email from users where score > 0`.execute(db);
  // Rows, so that DuckDB cannot prove a filter empty from the statistics (it plans EMPTY_RESULT then).
  await sql`insert into users values (1, 'a@x.io', 5), (2, 'b@x.io', 20)`.execute(db);
  await sql`insert into teams values (1, 'red')`.execute(db);
});
afterAll(async () => {
  await db?.destroy();
  instance?.closeSync();
  await rm(dir, { recursive: true, force: true });
});

async function plain(model: string): Promise<boolean> {
  await sql.raw(`create or replace temp view ${MODEL_VIEW} as ${model}`).execute(db);
  return modelIsPlainRead(db);
}

describe('model shape', () => {
  it.each([
    'select * from users',
    'select id, lower(email) as email from users where score > 10',
    'select * from users union all select * from more_users',
    'select * from active_users',
    'select * from users where score > 1000',
  ])('reads again a plain read of tables: %s', async (model) => {
    expect(await plain(model)).toBe(true);
  });

  it.each([
    'select u.id, t.team from users u join teams t on t.user_id = u.id',
    'select id, max(email) as email from users group by id',
    'select * from users order by id',
    'select * from users limit 2',
    'select * from users union select * from more_users',
    'select id, row_number() over (order by score) as n from users',
    'select 1 as id, 2 as email',
    'select * from users using sample 50%',
  ])('reads once anything else: %s', async (model) => {
    expect(await plain(model)).toBe(false);
  });

  it('reads once a table function such as read_csv', async () => {
    expect(await plain(`select * from read_csv('${join(dir, 'users.csv')}')`)).toBe(false);
  });

  it('reads once whatever it cannot recognise as a plan', () => {
    expect(isPlainRead([])).toBe(false);
    expect(isPlainRead({ name: 'SEQ_SCAN' })).toBe(false);
    expect(isPlainRead([{ name: 'SEQ_SCAN', children: [], extra_info: {} }])).toBe(false);
    expect(isPlainRead([{ name: 'PROJECTION' }])).toBe(false);
    expect(isPlainRead([{ name: 'SEQ_SCAN', children: [], extra_info: { Table: 'w.main.users', 'Some New Option': 'x' } }])).toBe(false);
    expect(isPlainRead([{ name: 'SEQ_SCAN', children: [], extra_info: { Table: 'w.main.users' } }])).toBe(true);
  });
});

describe('PostgreSQL models', () => {
  const admin = usePgAdmin();
  const schema = `htl_shape_${process.pid}`;
  beforeAll(async () => {
    await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}; set search_path = ${schema}`);
    await admin.query(`create table users (id integer primary key, email text, score integer);
      create table more_users (id integer, email text, score integer);
      create table teams (user_id integer, team text);
      create view active_users as select id, email from users where score > 0;
      insert into users select g, 'u' || g, g % 7 from generate_series(1, 1000) g;
      analyze users`);
  });
  afterAll(async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
  });

  /** The answer for `model`, from PostgreSQL's EXPLAIN of it as the planner asks (warehouse.ts `describe`). */
  async function plainPg(model: string): Promise<boolean> {
    const { rows } = await admin.query(`explain (format json) ${model}`);
    return isPlainPostgresRead(rows[0]['QUERY PLAN']);
  }

  it.each([
    'select * from users',
    'select id, email from users where score > 3',
    'select * from users where id = 7',
    'select * from users where id in (1, 2, 3)',
    'select * from active_users',
    'select * from users union all select * from more_users',
    'select id, lower(email) as email from users',
  ])('reads again a plain read of tables: %s', async (model) => {
    expect(await plainPg(model)).toBe(true);
  });

  it.each([
    'select u.id, t.team from users u join teams t on t.user_id = u.id',
    'select id, max(email) as email from users group by id',
    'select * from users order by email',
    'select * from users limit 2',
    'select * from users union select * from more_users',
    'select id, row_number() over (order by score) as n from users',
    'select * from users tablesample bernoulli (50)',
    'select g as id from generate_series(1, 3) g',
  ])('reads once anything else: %s', async (model) => {
    expect(await plainPg(model)).toBe(false);
  });

  it('reads once whatever it cannot recognise as a plan', () => {
    expect(isPlainPostgresRead([])).toBe(false);
    expect(isPlainPostgresRead([{ Plan: { 'Node Type': 'Seq Scan', Plans: 'x' } }])).toBe(false);
    expect(isPlainPostgresRead([{ Plan: { 'Node Type': 'Custom Scan' } }])).toBe(false);
    expect(isPlainPostgresRead([{ Plan: { 'Node Type': 'Seq Scan' } }])).toBe(true);
  });
});
