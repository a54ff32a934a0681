/**
 * The diff and the modes, end to end through the CLI: a real DuckDB warehouse file, the real state
 * store, real worker threads, and the `file` destination whose output records every operation sent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, logEvents, type TestProject } from './support/project.js';

const config = `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  out: { type: file, path: out }
`;

function syncFile(mode: string, extra = '') {
  return `model: users
destination: out
primary_key: id
mode: ${mode}
mapping:
  email: email
  name: name
batch_size: 2
${extra}`;
}

/**
 * The planner's two ways of reading a DuckDB model (planner.ts, model-shape.ts): a plain read of a table
 * is diffed on key and hash and its changed rows read again; a sorted one is read once.
 */
const STRATEGIES = [
  { strategy: 'read back', model: 'select * from users' },
  { strategy: 'read once', model: 'select * from users order by id' },
];

async function usersProject(mode: string, extra = '', model = STRATEGIES[0].model): Promise<TestProject> {
  const project = await createProject({
    'hightouch-like.config.yaml': config,
    'models/users.sql': model,
    'syncs/users.yaml': syncFile(mode, extra),
  });
  await project.warehouse(`
    create table users (id integer, email varchar, name varchar, score integer);
    insert into users values (1, 'a@x.io', 'Ann', 10), (2, 'b@x.io', 'Bob', 20), (3, 'c@x.io', 'Cy', 30)`);
  return project;
}

/** Every operation the destination received, in order. */
async function sent(project: TestProject): Promise<Array<{ op: string; key: string; fields: Record<string, unknown> }>> {
  const text = await readFile(join(project.dir, 'out/users.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

let project: TestProject;
afterEach(async () => project?.remove());

describe.each(STRATEGIES)('primary-key diff ($strategy)', ({ model }) => {
  it('sends every row on the first run and nothing on an unchanged second run', async () => {
    project = await usersProject('upsert', '', model);
    const first = await project.cli(['run', 'users', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout)[0];
    expect(report).toMatchObject({ status: 'succeeded', sent: 3, succeeded: 3, failed: 0 });
    expect(report.plan).toMatchObject({ added: 3, changed: 0, removed: 0, planned: 3 });
    expect((await sent(project)).map((r) => r.key).sort()).toEqual(['1', '2', '3']);

    const second = await project.cli(['run', 'users', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)[0]).toMatchObject({ sent: 0, plan: { unchanged: 3, planned: 0 } });
    expect(await sent(project)).toHaveLength(3);
  });

  it('sends only rows whose mapped columns changed, and new rows', async () => {
    project = await usersProject('upsert', '', model);
    await project.cli(['run', 'users']);
    await project.warehouse(`
      update users set email = 'b2@x.io' where id = 2;
      update users set score = 99 where id = 3;
      insert into users values (4, 'd@x.io', 'Di', 40)`);
    const plan = await project.cli(['plan', 'users', '--json']);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)[0]).toMatchObject({ added: 1, changed: 1, unchanged: 2, planned: 2 });
    expect(await sent(project)).toHaveLength(3);

    const run = await project.cli(['run', 'users', '--json']);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ sent: 2, succeeded: 2 });
    const after = (await sent(project)).slice(3);
    expect(after).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ op: 'upsert', key: '2', fields: { email: 'b2@x.io', name: 'Bob' } }),
        expect.objectContaining({ op: 'upsert', key: '4', fields: { email: 'd@x.io', name: 'Di' } }),
      ]),
    );
    expect(after).toHaveLength(2);
  });

  it('re-sends everything with --full-resync', async () => {
    project = await usersProject('upsert', '', model);
    await project.cli(['run', 'users']);
    const run = await project.cli(['run', 'users', '--full-resync', '--json']);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ sent: 3, succeeded: 3, plan: { changed: 3 } });
    expect(await sent(project)).toHaveLength(6);
  });

  it('a mapping change re-sends every row with the new fields', async () => {
    project = await usersProject('upsert', '', model);
    await project.cli(['run', 'users']);
    const mappingHash = async () =>
      JSON.parse((await project.cli(['query', 'select mapping_hash from sync_state', '--json'])).stdout)[0].mapping_hash;
    const before = await mappingHash();
    await project.write('syncs/users.yaml', syncFile('upsert').replace('  name: name', '  name: name\n  score: score'));
    const run = await project.cli(['run', 'users', '--json']);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ sent: 3 });
    expect((await sent(project)).slice(3)[0].fields).toHaveProperty('score');
    expect(await mappingHash()).not.toBe(before);
  });
});

describe('modes', () => {
  async function changeEverything() {
    await project.cli(['run', 'users']);
    await project.warehouse(`
      update users set name = 'Ann2' where id = 1;
      delete from users where id = 2;
      insert into users values (5, 'e@x.io', 'Eve', 50)`);
    const run = await project.cli(['run', 'users', '--json']);
    expect(run.code, run.stderr).toBe(0);
    return (await sent(project))
      .slice(3)
      .map((r) => `${r.op}:${r.key}`)
      .sort();
  }

  it('insert sends new keys only', async () => {
    project = await usersProject('insert');
    expect(await changeEverything()).toEqual(['insert:5']);
  });

  it('update sends changed and new keys as updates, never deletes', async () => {
    project = await usersProject('update');
    expect(await changeEverything()).toEqual(['update:1', 'update:5']);
  });

  it('upsert sends new and changed keys, never deletes', async () => {
    project = await usersProject('upsert');
    expect(await changeEverything()).toEqual(['upsert:1', 'upsert:5']);
  });

  it.each(STRATEGIES)('mirror also deletes rows that left the model, and only rows it synced itself ($strategy)', async ({ model }) => {
    project = await usersProject('mirror', '', model);
    expect(await changeEverything()).toEqual(['delete:2', 'upsert:1', 'upsert:5']);
    // The commit records each acknowledged row with its own operation, in the changelog and the snapshot.
    const logged = await project.cli([
      'query',
      `select c.primary_key, c.op, c.status, s.row_hash is not null as in_snapshot from sync_changelog c
        left join sync_snapshots s using (sync_name, primary_key)
        where c.run_id = (select run_id from sync_runs order by started_at desc limit 1) order by 1`,
      '--json',
    ]);
    expect(JSON.parse(logged.stdout)).toEqual([
      { primary_key: '1', op: 'update', status: 'succeeded', in_snapshot: true },
      { primary_key: '2', op: 'delete', status: 'succeeded', in_snapshot: false },
      { primary_key: '5', op: 'insert', status: 'succeeded', in_snapshot: true },
    ]);
    // Key 2 is gone from the snapshot: deleting it again, or a key never synced, sends nothing.
    const again = await project.cli(['run', 'users', '--json']);
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ sent: 0, plan: { removed: 0 } });
  });
});

describe('models that answer otherwise when read again', () => {
  // A plain read the planner would read twice; the second read gives other rows, so it reads once.
  it.each([
    { model: 'select * from users where random() < 0.5', key: 'id' },
    { model: 'select uuid()::varchar as uid, email, name from users', key: 'uid' },
  ])('plans every row of a first run as added: $model', async ({ model, key }) => {
    project = await usersProject('mirror', '', model);
    await project.warehouse(`insert into users select range + 10, 'u' || range || '@x.io', 'U', 0 from range(1000)`);
    await project.write('syncs/users.yaml', syncFile('mirror').replace('primary_key: id', `primary_key: ${key}`));
    const plan = await project.cli(['plan', 'users', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const counts = JSON.parse(plan.stdout)[0];
    expect(counts.model_rows).toBeGreaterThan(0);
    expect(counts).toMatchObject({ added: counts.model_rows, unchanged: 0, planned: counts.model_rows });
  });
});

describe('reading back by key type', () => {
  // An integer key's rows are read back by its value (planner.ts, `byIntegerKey`), any other by its text;
  // a read back that missed a row would fall back to reading once, which `model_read` shows.
  it.each([
    { type: 'TINYINT', keys: ['-128', '0', '127'] },
    { type: 'BIGINT', keys: ['-9223372036854775808', '-1', '9223372036854775807'] },
    { type: 'UBIGINT', keys: ['0', '9223372036854775808', '18446744073709551615'] },
    {
      type: 'HUGEINT',
      keys: ['-170141183460469231731687303715884105728', '18446744073709551616', '170141183460469231731687303715884105727'],
    },
    { type: 'VARCHAR', keys: ['', ' 1', '1', '01', 'é'] },
  ])('sends every changed row of a $type key, the null key set aside', async ({ type, keys }) => {
    project = await usersProject('upsert');
    const values = keys.map((k) => `(cast('${k}' as ${type}), 'k@x.io', 'A', 0)`).join(', ');
    await project.warehouse(`drop table users; create table users (id ${type}, email varchar, name varchar, score integer);
      insert into users values ${values}, (null, 'n@x.io', 'A', 0)`);
    const first = await project.cli(['run', 'users', '--json']);
    expect(first.code, first.stderr).toBe(2);
    expect(JSON.parse(first.stdout)[0]).toMatchObject({ succeeded: keys.length, invalid: 1 });
    await project.warehouse(`update users set name = 'B'`);
    const second = await project.cli(['run', 'users', '--json']);
    expect(second.code, second.stderr).toBe(2);
    expect(JSON.parse(second.stdout)[0]).toMatchObject({
      succeeded: keys.length,
      invalid: 1,
      plan: { changed: keys.length, unchanged: 0 },
    });
    expect(logEvents(second.stderr).find((e) => e.msg === 'run_started')).toMatchObject({ model_read: 'read back' });
    const changed = (await sent(project)).slice(keys.length);
    expect(changed.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(changed.every((r) => r.fields.name === 'B')).toBe(true);
    // One row changed: the others are counted unchanged from the diff's grouped rows.
    await project.warehouse(`update users set name = 'C' where id = cast('${keys[0]}' as ${type})`);
    const third = await project.cli(['run', 'users', '--json']);
    expect(JSON.parse(third.stdout)[0]).toMatchObject({
      succeeded: 1,
      plan: { model_rows: keys.length + 1, changed: 1, unchanged: keys.length - 1 },
    });
    expect(logEvents(third.stderr).find((e) => e.msg === 'run_started')).toMatchObject({ model_read: 'read back' });
    expect((await sent(project)).slice(2 * keys.length)).toEqual([
      expect.objectContaining({ key: keys[0], fields: expect.objectContaining({ name: 'C' }) }),
    ]);
  });
});

describe.each(STRATEGIES)('invalid primary keys ($strategy)', ({ model }) => {
  it('sets aside null and duplicate keys, logs them with the key, sends the rest, exits 2', async () => {
    project = await usersProject('upsert', '', model);
    await project.warehouse(`insert into users values (null, 'n@x.io', 'Nul', 0), (3, 'dup@x.io', 'Dup', 0)`);
    const run = await project.cli(['run', 'users', '--json']);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout)[0];
    expect(report).toMatchObject({ status: 'completed_with_errors', sent: 2, succeeded: 2, invalid: 3 });
    expect((await sent(project)).map((r) => r.key).sort()).toEqual(['1', '2']);
    const invalid = logEvents(run.stderr).filter((e) => e.msg === 'invalid_row');
    expect(invalid).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ primary_key: null, reason: 'null primary key' }),
        expect.objectContaining({ primary_key: '3', reason: 'duplicate primary key' }),
      ]),
    );
    const runs = await project.cli(['query', 'select rows_invalid, status from sync_runs', '--json']);
    expect(JSON.parse(runs.stdout)).toEqual([{ rows_invalid: 3, status: 'completed_with_errors' }]);
  });
});
