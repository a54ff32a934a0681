/**
 * The row hash of a PostgreSQL warehouse in the state's database (core/plan/row-hash.ts): the row text of
 * the mapped values, with field names and types folded in. It must tell apart what the payload tells
 * apart, and a sync whose snapshot holds payload hashes (an earlier version's, in PostgreSQL or DuckDB
 * state) keeps them, sending nothing again, until a full resync moves it to the values hash.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { Kysely } from 'kysely';
import { DuckDBDialect } from '../core/db/duckdb-dialect.js';
import { rowHashIdentity } from '../core/plan/row-hash.js';
import type { StateStore } from '../core/state/state-store.js';
import { createProject, readStateStore, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const admin = usePgAdmin();
let counter = 0;
let project: TestProject | undefined;
let schema = '';
afterEach(async () => {
  await project?.remove();
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  project = undefined;
  schema = '';
});

/** A PostgreSQL warehouse (and state, unless `duckdbState`) in one schema, sync `<schema>` of model `m` to a JSON-lines file. */
async function setup(model: string, mapping: string, duckdbState = false) {
  schema = `htl_pghash_${process.pid}_${++counter}`;
  await admin.query(`create schema ${schema}`);
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: postgres, url: "\${PG_URL}" }
${duckdbState ? '' : 'state: { type: postgres, url: "${PG_URL}" }'}
destinations:
  files: { type: file, path: out }
`,
    'models/m.sql': model,
    // Named apart: PostgreSQL state locks a sync by name, database-wide.
    [`syncs/${schema}.yaml`]: `model: m\ndestination: files\nprimary_key: id\nformat: jsonl\nmapping: ${mapping}\n`,
  });
  return { PG_URL: `${PG_BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
}

const plan = async (env: Record<string, string>, ...flags: string[]) => {
  const result = await project!.cli(['plan', schema, '--json', ...flags], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout)[0] as Record<string, number>;
};

const run = async (env: Record<string, string>, ...flags: string[]) => {
  const result = await project!.cli(['run', schema, '--json', ...flags], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout)[0] as Record<string, any>;
};

const sent = async () =>
  (await readFile(join(project!.dir, `out/${schema}.jsonl`), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).fields);

const identity = async () =>
  (await admin.query(`select row_hash_identity as id from ${schema}.sync_state where sync_name = $1`, [schema])).rows[0].id as string;

it('tells apart values whose row text is the same: an integer turned text, -0 and 0', async () => {
  const env = await setup('select id, v, f from t', '{ v: v, f: f }');
  await admin.query(`create table ${schema}.t (id integer, v integer, f float8)`);
  await admin.query(`insert into ${schema}.t values (1, 1, 0), (2, 2, 1.5)`);
  expect((await run(env)).sent).toBe(2);
  expect(await identity()).toMatch(/^postgres:hashtextextended\(values\):/);
  expect(await plan(env)).toMatchObject({ unchanged: 2, planned: 0 });

  // The payload of v becomes "1" (a JSON string) though the row text stays (1,1,0): sent again.
  await project!.write('models/m.sql', 'select id, v::text as v, f from t');
  expect(await plan(env)).toMatchObject({ changed: 2, planned: 2 });
  await run(env);
  expect((await sent()).slice(-2)).toEqual([
    { v: '1', f: 0 },
    { v: '2', f: 1.5 },
  ]);
  await admin.query(`update ${schema}.t set f = '-0' where id = 1`);
  expect(await plan(env)).toMatchObject({ changed: 1, planned: 1 });
});

it('keeps a snapshot of payload hashes, sending nothing, until a full resync moves it to the values hash', async () => {
  const env = await setup('select id, email, name from users', '{ email: email, name: name }');
  await admin.query(`create table ${schema}.users (id integer, email text, name text)`);
  await admin.query(`insert into ${schema}.users values (1, 'a@x.io', 'Ann'), (2, 'b@x.io', 'Bob'), (3, 'c@x.io', 'Cy')`);
  await run(env);
  // What an earlier version wrote: hashtextextended of each payload text, under the payload identity.
  await admin.query(
    `update ${schema}.sync_snapshots s
       set row_hash = hashtextextended('{"email":' || to_json(u.email)::text || ',"name":' || to_json(u.name)::text || '}', 0)::text
       from ${schema}.users u where s.sync_name = $1 and s.primary_key = u.id::text`,
    [schema],
  );
  const payloadHashes = (await admin.query(`select row_hash from ${schema}.sync_snapshots order by primary_key`)).rows;
  const fingerprint = (await admin.query(`select hashtextextended('{"probe":42,"t":"text é"}', 0)::text as h`)).rows[0].h;
  await admin.query(`update ${schema}.sync_state set row_hash_identity = $2 where sync_name = $1`, [
    schema,
    `postgres:hashtextextended(payload):${fingerprint}`,
  ]);
  expect(await plan(env)).toMatchObject({ unchanged: 3, planned: 0 });
  await admin.query(`update ${schema}.users set name = 'Bo' where id = 2`);
  const second = await run(env);
  expect(second.plan).toMatchObject({ changed: 1, planned: 1 });
  expect(await identity()).toMatch(/^postgres:hashtextextended\(payload\):/);
  // Rows 1 and 3 still hold their payload hashes.
  const after = (await admin.query(`select row_hash from ${schema}.sync_snapshots order by primary_key`)).rows;
  expect([after[0], after[2]]).toEqual([payloadHashes[0], payloadHashes[2]]);

  const full = await run(env, '--full-resync');
  expect(full.plan).toMatchObject({ planned: 3 });
  expect(await identity()).toMatch(/^postgres:hashtextextended\(values\):/);
  expect(await plan(env)).toMatchObject({ unchanged: 3, planned: 0 });
});

it('keeps a DuckDB state snapshot of payload hashes, sending nothing, until a full resync moves it to the values hash', async () => {
  const env = await setup('select id, email, name from users', '{ email: email, name: name }', true);
  await admin.query(`create table ${schema}.users (id integer, email text, name text)`);
  await admin.query(`insert into ${schema}.users values (1, 'a@x.io', 'Ann'), (2, 'b@x.io', 'Bob'), (3, 'c@x.io', 'Cy')`);
  await run(env);
  const state = (text: string) => readStateStore(project!.dir, text, true);
  const stateIdentity = async () =>
    String((await state(`select row_hash_identity as id from sync_state where sync_name = '${schema}'`))[0].id);
  expect(await stateIdentity()).toMatch(/^postgres:hashtextextended\(values\):/);
  // What an earlier version wrote: DuckDB's hash of each payload text, under DuckDB's payload identity.
  const instance = await DuckDBInstance.create(':memory:');
  const duck = new Kysely<any>({ dialect: new DuckDBDialect(await instance.connect()) });
  const payloadIdentity = await rowHashIdentity({ dialect: 'duckdb', db: duck } as unknown as StateStore, 'payload');
  await duck.destroy();
  instance.closeSync();
  const payload = (email: string, name: string) => `'${JSON.stringify({ email, name })}'`;
  // The fold writes the number with each text (migration 15): both, as that version's fold would have.
  const hashed = `hash(case primary_key when '1' then ${payload('a@x.io', 'Ann')}
      when '2' then ${payload('b@x.io', 'Bob')} else ${payload('c@x.io', 'Cy')} end)`;
  await state(`update sync_snapshots set row_hash = cast(${hashed} as varchar), row_hash_u64 = ${hashed};
    update sync_state set row_hash_identity = '${payloadIdentity}'`);
  expect(await plan(env)).toMatchObject({ unchanged: 3, planned: 0 });
  await admin.query(`update ${schema}.users set name = 'Bo' where id = 2`);
  expect((await run(env)).plan).toMatchObject({ changed: 1, planned: 1 });
  expect(await stateIdentity()).toBe(payloadIdentity);

  expect((await run(env, '--full-resync')).plan).toMatchObject({ planned: 3 });
  expect(await stateIdentity()).toMatch(/^postgres:hashtextextended\(values\):/);
  expect(await plan(env)).toMatchObject({ unchanged: 3, planned: 0 });
});

describe.each([false, true])('duckdb state: %s', (duckdbState) => {
  it('sends a composite value again when an attribute is renamed (its row text has no names, its JSON has)', async () => {
    const env = await setup('select id, c, t as whole from t', '{ c: c, whole: whole }', duckdbState);
    await admin.query(`create type ${schema}.pr as (a integer, b text)`);
    await admin.query(`create table ${schema}.t (id integer, c ${schema}.pr, n integer)`);
    await admin.query(`insert into ${schema}.t values (1, row(1, 'x'), 7)`);
    await run(env);
    expect(await plan(env)).toMatchObject({ planned: 0 });
    await admin.query(`alter type ${schema}.pr rename attribute a to renamed`);
    expect(await plan(env)).toMatchObject({ changed: 1, planned: 1 });
    await run(env);
    expect((await sent()).at(-1).c).toEqual({ renamed: 1, b: 'x' });
    // The whole row's JSON changes with a column's type, its text does not.
    await admin.query(`alter table ${schema}.t alter column n type text`);
    expect(await plan(env)).toMatchObject({ changed: 1, planned: 1 });
  });

  it('sends nothing again when a numeric only changes scale, as its JSON stays', async () => {
    const env = await setup('select id, d, u from t', '{ d: d, u: u }', duckdbState);
    await admin.query(`create table ${schema}.t (id integer, d numeric(10, 2), u numeric)`);
    await admin.query(`insert into ${schema}.t values (1, 1.5, 1.5), (2, 2, 2)`);
    await run(env);
    await admin.query(`alter table ${schema}.t alter column d type numeric(10, 3)`);
    await admin.query(`update ${schema}.t set u = 1.50 where id = 1`);
    expect(await plan(env)).toMatchObject({ changed: 0, planned: 0 });
    await admin.query(`update ${schema}.t set u = 1.51 where id = 1`);
    expect(await plan(env)).toMatchObject({ changed: 1, planned: 1 });
  });
});

describe.each([true, false])('duckdb state: %s', (duckdbState) => {
  it("keeps PostgreSQL's signed hashes as unsigned numbers, and fills them in a store from before migration 16", async () => {
    const env = await setup('select id, name from users', '{ name: name }', duckdbState);
    await admin.query(`create table ${schema}.users (id integer, name text)`);
    await admin.query(`insert into ${schema}.users select i, 'name ' || i from generate_series(1, 40) i`);
    await run(env);
    const state = (text: string) =>
      duckdbState
        ? readStateStore(project!.dir, text, true)
        : admin.query(text.replaceAll(/\b(sync_snapshots|hightouch_like_migrations)\b/g, `${schema}.$1`)).then((r) => r.rows);
    const numbers = async () =>
      (await state(`select row_hash, cast(row_hash_u64 as varchar) as u from sync_snapshots order by row_hash`)).map((r) => [
        String(r.row_hash),
        r.u === null ? null : String(r.u),
      ]);
    // Both signs occur among 40 hashes; each number is the hash's 64 bits read unsigned.
    const unsigned = (text: string) => String(BigInt.asUintN(64, BigInt(text)));
    const stored = await numbers();
    expect(stored.some(([h]) => h.startsWith('-'))).toBe(true);
    expect(stored.some(([h]) => !h.startsWith('-'))).toBe(true);
    expect(stored).toEqual(stored.map(([h]) => [h, unsigned(h)]));

    // What a store from before migration 16 holds: DuckDB left the negative ones null, PostgreSQL kept them negative.
    await state(
      duckdbState
        ? `update sync_snapshots set row_hash_u64 = null where row_hash like '-%'; delete from hightouch_like_migrations where version = 16`
        : `update sync_snapshots set row_hash_u64 = row_hash::numeric where row_hash like '-%'; delete from hightouch_like_migrations where version = 16`,
    );
    // Migrated on open: nothing is sent again, and the numbers are whole again.
    expect(await plan(env)).toMatchObject({ unchanged: 40, changed: 0, planned: 0 });
    expect(await numbers()).toEqual(stored);

    // Rows of either sign are seen changed, and the numbers follow the texts through the fold.
    const [negative, positive] = ['-', ''].map((sign) => (stored.find(([h]) => (sign ? h.startsWith('-') : !h.startsWith('-'))) ?? [])[0]);
    const keyOf = async (hash: string) =>
      String((await state(`select primary_key from sync_snapshots where row_hash = '${hash}'`))[0].primary_key);
    const keys = [await keyOf(negative!), await keyOf(positive!)];
    await admin.query(`update ${schema}.users set name = name || '!' where id in (${keys.join(', ')})`);
    expect((await run(env)).plan).toMatchObject({ changed: 2, unchanged: 38 });
    const after = await numbers();
    expect(after).toEqual(after.map(([h]) => [h, unsigned(h)]));
    // Back to the values first synced: a number left stale would call them unchanged.
    await admin.query(`update ${schema}.users set name = rtrim(name, '!') where id in (${keys.join(', ')})`);
    expect(await plan(env)).toMatchObject({ changed: 2, unchanged: 38 });
  });
});
