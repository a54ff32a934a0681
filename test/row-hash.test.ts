/**
 * The row hash (core/plan/row-hash.ts): snapshots of md5 hashes from before migration 14 keep working
 * without sending anything again, a changed hash function sends every row again, and values DuckDB's
 * `hash()` alone would confuse (-0.0 and 0.0, a TIMESTAMP and a TIMESTAMPTZ of the same instant) are
 * still told apart; the numeric copy of each hash (migration 15) follows its text. A DuckDB warehouse and state, through the CLI; the `file` destination records sends.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, readStateStore, type TestProject } from './support/project.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

let project: TestProject;
afterEach(async () => project?.remove());

async function usersProject(model = 'select * from users'): Promise<TestProject> {
  const p = await createProject({
    'hightouch-like.config.yaml': 'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
    'models/users.sql': model,
    'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping:\n  email: email\n  name: name\n',
  });
  await p.warehouse(`create table users (id integer, email varchar, name varchar);
    insert into users values (1, 'a@x.io', 'Ann'), (2, 'b@x.io', 'Bob'), (3, 'c@x.io', 'Cy')`);
  return p;
}

/** Reads and writes the state file (the CLI has exited, so its lock is free). */
const stateSql = (p: TestProject, text: string) => readStateStore(p.dir, text, true);

const plan = async (p: TestProject) => {
  const result = await p.cli(['plan', 'users', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout)[0] as Record<string, number>;
};

const sentKeys = async (p: TestProject) =>
  (await readFile(join(p.dir, 'out/users.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).key as string);

describe('row hashes', () => {
  // A plain model is diffed and read back, a sorted one read once; with a duplicate key the planner
  // stages the model (the other strategy): all read md5 snapshots.
  it.each([
    { name: 'read back', duplicate: false, model: 'select * from users' },
    { name: 'read once', duplicate: false, model: 'select * from users order by id' },
    { name: 'staged', duplicate: true, model: 'select * from users' },
  ])('reads an md5 snapshot from before migration 14 and sends only what changed ($name)', async ({ duplicate, model }) => {
    project = await usersProject(model);
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    // What a state store written before migration 14 holds: md5 of each payload, no identity, and no
    // numeric hash column (migration 15 adds it on the next open, empty for md5 texts).
    const payload = (email: string, name: string) => JSON.stringify({ email, name });
    await stateSql(
      project,
      `update sync_snapshots set row_hash = case primary_key when '1' then '${md5(payload('a@x.io', 'Ann'))}'
         when '2' then '${md5(payload('b@x.io', 'Bob'))}' else '${md5(payload('c@x.io', 'Cy'))}' end;
       update sync_state set row_hash_identity = null;
       alter table sync_snapshots drop column row_hash_u64;
       delete from hightouch_like_migrations where version = 15`,
    );
    await project.warehouse(`update users set name = 'Bobby' where id = 2;
      ${duplicate ? "insert into users values (9, 'i@x.io', 'I'), (9, 'j@x.io', 'J')" : ''}`);
    expect(await plan(project)).toMatchObject({ changed: 1, unchanged: 2, added: 0, invalid: duplicate ? 2 : 0, planned: 1 });

    expect((await project.cli(['run', 'users'])).code).toBe(duplicate ? 2 : 0);
    expect(await sentKeys(project)).toEqual(['1', '2', '3', '2']);
    // The sent row now holds the new hash; the others keep their md5 and still compare.
    const hashes = await stateSql(project, 'select primary_key, row_hash from sync_snapshots order by primary_key');
    expect(hashes.map((r) => String(r.row_hash).length === 32)).toEqual([true, false, true]);
    expect(await plan(project)).toMatchObject({ changed: 0, unchanged: 3, planned: 0 });
  });

  it('sends every row again when the stored hash identity is not the current one', async () => {
    project = await usersProject();
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    const [{ id }] = await stateSql(project, 'select row_hash_identity as id from sync_state');
    expect(String(id)).toMatch(/^duckdb:hash\(values\):\d+$/);
    await stateSql(project, `update sync_state set row_hash_identity = 'duckdb:hash(values):0'`);
    expect(await plan(project)).toMatchObject({ changed: 3, unchanged: 0, planned: 3 });
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    expect(await plan(project)).toMatchObject({ changed: 0, unchanged: 3 });
  });

  it('keeps the numeric hash beside its text, and refuses a state store a newer version migrated', async () => {
    project = await usersProject();
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    // A store from before migration 15: the migration fills the number from each text, so nothing is sent again.
    await stateSql(
      project,
      'alter table sync_snapshots drop column row_hash_u64; delete from hightouch_like_migrations where version = 15',
    );
    expect(await plan(project)).toMatchObject({ changed: 0, unchanged: 3 });
    await project.warehouse(`update users set name = 'Bobby' where id = 2`);
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    // The plan compares the number (migration 15): the fold wrote it with each text, the update's too.
    const [{ n }] = await stateSql(
      project,
      'select count(*)::int as n from sync_snapshots where row_hash_u64 = try_cast(row_hash as ubigint)',
    );
    expect(n).toBe(3);
    // Back to the values first synced: a number left stale by the update would call it unchanged.
    await project.warehouse(`update users set name = 'Bob' where id = 2`);
    expect(await plan(project)).toMatchObject({ changed: 1, unchanged: 2 });

    // An earlier version would fold without the number; it stops, in one line, before touching the state.
    await stateSql(project, `insert into hightouch_like_migrations values (99, 'from a newer version', now())`);
    const refused = await project.cli(['run', 'users']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(
      /^error: .*state: the state store was migrated by a newer hightouch-like \(migration 99; this version knows up to 16\)\. upgrade hightouch-like/,
    );
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('tells apart what DuckDB hashes alike: -0.0 and 0.0, TIMESTAMP and TIMESTAMPTZ of one instant', async () => {
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
      'models/users.sql': 'select id, f, ts from vals',
      'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping:\n  f: f\n  ts: ts\n',
    });
    await project.warehouse(`create table vals (id integer, f double, ts timestamp);
      insert into vals values (1, 0.0, timestamp '2026-01-01 00:00:00'), (2, 1.0, timestamp '2026-01-01 00:00:00')`);
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    // A DuckDB table stores -0.0 as 0.0: the model makes it.
    await project.write('models/users.sql', 'select id, case when id = 1 then -f else f end as f, ts from vals');
    expect(await plan(project)).toMatchObject({ changed: 1, unchanged: 1 });
    expect((await project.cli(['run', 'users'])).code).toBe(0);
    // The same instants as TIMESTAMPTZ: the payload gains a `Z`, so every row is sent.
    await project.write('models/users.sql', 'select id, case when id = 1 then -f else f end as f, cast(ts as timestamptz) as ts from vals');
    expect(await plan(project)).toMatchObject({ changed: 2, unchanged: 0 });
  });
});
