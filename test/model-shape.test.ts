/**
 * Which DuckDB models the planner reads twice (core/plan/model-shape.ts): only a plain read of tables,
 * decided from DuckDB's own EXPLAIN of the model view. A real DuckDB database; a CSV file for read_csv.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBDialect } from '../core/db/duckdb-dialect.js';
import { MODEL_VIEW } from '../core/db/warehouse.js';
import { isPlainRead, modelIsPlainRead } from '../core/plan/model-shape.js';

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
