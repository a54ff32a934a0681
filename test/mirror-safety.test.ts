import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, logEvents, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const BASE = PG_BASE;
const admin = usePgAdmin();
let counter = 0;

let project: TestProject | undefined;
let sink: HttpSink | undefined;
let schema: string | undefined;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  project = sink = schema = undefined;
});

const urlFor = (s: string) => `${BASE}?options=${encodeURIComponent(`-c search_path=${s}`)}`;

async function newSchema(): Promise<string> {
  schema = `htl_mirror_${process.pid}_${++counter}`;
  await admin.query(`create schema ${schema}`);
  return schema;
}

async function runJson(args: string[], env: Record<string, string>) {
  const result = await project!.cli([...args, '--json'], env);
  return { ...result, report: JSON.parse(result.stdout || '[{}]')[0] };
}

const pairings = [
  { warehouse: 'duckdb', state: 'duckdb', widen: 'i::double' },
  { warehouse: 'duckdb', state: 'postgres', widen: 'i::double' },
  { warehouse: 'postgres', state: 'postgres', widen: 'i::numeric(10, 2)' },
  { warehouse: 'postgres', state: 'duckdb', widen: 'i::numeric(10, 2)' },
] as const;

describe.each(pairings)('$warehouse warehouse, $state state', ({ warehouse, state, widen }) => {
  it(`keeps every row when the key column turns from integer to ${widen}`, async () => {
    const s = await newSchema();
    await admin.query(`create table ${s}.users_out (id numeric primary key, email text)`);
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: ${warehouse === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: warehouse.duckdb }'}
state: ${state === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  crm: { type: postgres, url: "\${PG_URL}", schema: ${s} }
`,
      'models/users.sql': `select i as id, 'u' || i || '@x.io' as email from src`,
      // Named apart: PostgreSQL state locks a sync by name, database-wide.
      'syncs/mirror_users.yaml':
        'model: users\ndestination: crm\nprimary_key: id\nmode: mirror\ntable: users_out\nmapping: { id: id, email: email }\n',
    });
    const create = `create table src as select g as i from generate_series(1, 1000) as t(g)`;
    if (warehouse === 'postgres') await admin.query(`set search_path = ${s}; ${create}; reset search_path`);
    else await project.warehouse(create);
    const env = { PG_URL: urlFor(s) };
    const count = async () => Number((await admin.query(`select count(*) as n from ${s}.users_out`)).rows[0].n);

    const first = await runJson(['run', 'mirror_users'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(await count()).toBe(1000);

    await project.write('models/users.sql', `select ${widen} as id, 'u' || i || '@x.io' as email from src`);
    const plan = await runJson(['plan', 'mirror_users'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.report).toMatchObject({ model_rows: 1000, added: 0, removed: 0, to_delete: 0, invalid: 0 });

    const second = await runJson(['run', 'mirror_users'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.plan).toMatchObject({ added: 0, removed: 0, to_delete: 0 });
    expect(await count()).toBe(1000);
    const third = await runJson(['run', 'mirror_users'], env);
    expect(third.report.plan).toMatchObject({ planned: 0, to_delete: 0 });
    expect(await count()).toBe(1000);
    const status = JSON.parse((await project.cli(['status', '--json'], env)).stdout);
    expect(status[0]).toMatchObject({ sync: 'mirror_users', synced_rows: 1000 });
  });

  it('sets aside rows sharing an external_id, so removing one deletes nothing the other holds', async () => {
    const s = await newSchema();
    await admin.query(`create table ${s}.contacts (ext text primary key, email text)`);
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: ${warehouse === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: warehouse.duckdb }'}
state: ${state === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  crm: { type: postgres, url: "\${PG_URL}", schema: ${s} }
`,
      'models/contacts.sql': 'select id, ext, email from people',
      'syncs/mirror_contacts.yaml':
        'model: contacts\ndestination: crm\nprimary_key: id\nmode: mirror\ntable: contacts\nexternal_id: ext\nmapping: { ext: ext, email: email }\n',
    });
    const change = async (statements: string) => {
      if (warehouse === 'postgres') await admin.query(`set search_path = ${s}; ${statements}; reset search_path`);
      else await project!.warehouse(statements);
    };
    await change(`create table people (id integer, ext text, email text);
      insert into people values (1, 'x', 'one@x.io'), (2, 'x', 'two@x.io'), (3, 'y', 'three@x.io')`);
    const env = { PG_URL: urlFor(s) };
    const records = async () => (await admin.query(`select ext, email from ${s}.contacts order by ext`)).rows;

    const first = await runJson(['run', 'mirror_contacts'], env);
    expect(first.code, first.stderr).toBe(2);
    expect(first.report).toMatchObject({ invalid: 2, sent: 1, succeeded: 1 });
    const invalid = logEvents(first.stderr).filter((e) => e.msg === 'invalid_row');
    expect(invalid.map((e) => [e.primary_key, e.reason]).sort()).toEqual([
      ['1', 'duplicate ext'],
      ['2', 'duplicate ext'],
    ]);
    expect(await records()).toEqual([{ ext: 'y', email: 'three@x.io' }]);

    // Row 2 leaves: row 1 alone holds 'x' now and is sent; nothing is deleted.
    await change(`delete from people where id = 2`);
    const second = await runJson(['run', 'mirror_contacts'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.plan).toMatchObject({ added: 1, to_delete: 0 });
    expect(await records()).toEqual([
      { ext: 'x', email: 'one@x.io' },
      { ext: 'y', email: 'three@x.io' },
    ]);
  });
});

it('drops the delete of a key whose external_id moved to a new key in the same run, and forgets the old key', async () => {
  const s = await newSchema();
  await admin.query(`create table ${s}.contacts (ext text primary key, email text)`);
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  crm: { type: postgres, url: "\${PG_URL}", schema: ${s} }
`,
    'models/contacts.sql': 'select id, ext, email from people',
    'syncs/contacts.yaml':
      'model: contacts\ndestination: crm\nprimary_key: id\nmode: mirror\ntable: contacts\nexternal_id: ext\nmapping: { ext: ext, email: email }\n',
  });
  await project.warehouse(`create table people (id integer, ext text, email text);
    insert into people values (1, 'x', 'one@x.io'), (2, 'y', 'two@x.io'), (3, 'z', 'three@x.io')`);
  const env = { PG_URL: urlFor(s) };
  const records = async () => (await admin.query(`select ext, email from ${s}.contacts order by ext`)).rows;
  expect((await runJson(['run', 'contacts'], env)).code).toBe(0);

  // 'z' moves from row 3 to a new row 4: row 3's delete would remove the record row 4 writes.
  await project.warehouse(`delete from people where id = 3; insert into people values (4, 'z', 'four@x.io')`);
  const plan = await runJson(['plan', 'contacts'], env);
  expect(plan.report).toMatchObject({ added: 1, removed: 1, superseded: 1, to_delete: 0, to_insert: 1 });
  const run = await runJson(['run', 'contacts'], env);
  expect(run.code, run.stderr).toBe(0);
  expect(await records()).toEqual([
    { ext: 'x', email: 'one@x.io' },
    { ext: 'y', email: 'two@x.io' },
    { ext: 'z', email: 'four@x.io' },
  ]);
  // Row 3 is forgotten, not deleted later: the next run plans nothing and the snapshot holds 3 keys.
  const next = await runJson(['run', 'contacts'], env);
  expect(next.report.plan).toMatchObject({ planned: 0, removed: 0, snapshot_rows: 3 });
  expect((await records()).length).toBe(3);
});

it.each(['duckdb', 'postgres'])(
  '%s state: a key superseded at plan time leaves failed_rows in that run, where an earlier update of it failed',
  async (state) => {
    // The plan sees that row 3's delete and row 4's write address 'z' (http deletes by external_id):
    // row 3 is forgotten unsent, and its failed row goes with it.
    const s = await newSchema();
    sink = await startHttpSink();
    project = await createProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
state: ${state === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  api: { type: http, url: "\${SINK_URL}" }
`,
      'models/contacts.sql': 'select id, ext, email from people',
      'syncs/contacts.yaml':
        'model: contacts\ndestination: api\nprimary_key: id\nmode: mirror\nexternal_id: ext\nmapping: { ext: ext, email: email }\n',
    });
    await project.warehouse(`create table people (id integer, ext text, email text);
    insert into people values (1, 'x', 'one@x.io'), (2, 'y', 'two@x.io'), (3, 'z', 'three@x.io')`);
    const env = { PG_URL: urlFor(s), SINK_URL: sink.url };
    const failedRows = async () =>
      JSON.parse((await project!.cli(['query', 'select primary_key, op from failed_rows order by 1', '--json'], env)).stdout);
    expect((await runJson(['run', 'contacts'], env)).report).toMatchObject({ succeeded: 3 });

    await project.warehouse(`update people set email = 'new3@x.io' where id = 3`);
    sink.rejectKeys(['z']);
    expect((await runJson(['run', 'contacts'], env)).report).toMatchObject({ failed: 1 });
    expect(await failedRows()).toEqual([{ primary_key: '3', op: 'update' }]);

    sink.rejectKeys([]);
    await project.warehouse(`delete from people where id = 3; insert into people values (4, 'z', 'four@x.io')`);
    const run = await runJson(['run', 'contacts'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.plan).toMatchObject({ removed: 1, superseded: 1, to_delete: 0, to_insert: 1 });
    expect(run.report).toMatchObject({ status: 'succeeded', sent: 1, succeeded: 1 });
    expect(sink.rows.get('z')).toEqual({ ext: 'z', email: 'four@x.io' });
    expect(await failedRows()).toEqual([]);
  },
);

describe('delete guard', () => {
  async function setup(guard = '') {
    sink = await startHttpSink();
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "${SINK_URL}" }\n',
      'models/users.sql': 'select id, email from users',
      'syncs/users.yaml': `model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email }\n${guard}`,
    });
    await project.warehouse(`create table users as select i as id, 'u' || i || '@x.io' as email from range(1, 11) t(i)`);
    const env = { SINK_URL: sink.url };
    const first = await runJson(['run', 'users'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(sink.rows.size).toBe(10);
    return env;
  }
  const lastRun = async (env: Record<string, string>) =>
    JSON.parse(
      (await project!.cli(['query', 'select status, error from sync_runs order by started_at desc limit 1', '--json'], env)).stdout,
    )[0];

  it('stops a run that would delete more than half the synced rows, until --allow-deletes', async () => {
    const env = await setup();
    await project!.warehouse('delete from users where id <= 6');
    const plan = await runJson(['plan', 'users'], env);
    expect(plan.code).toBe(0);
    expect(plan.report).toMatchObject({
      to_delete: 6,
      snapshot_rows: 10,
      delete_guard: { deletes: 6, synced: 10, max_share: 0.5, stops: true },
    });
    const text = await project!.cli(['plan', 'users'], env);
    expect(text.stdout).toContain('delete guard: the run would stop');

    const sent = sink!.received.length;
    const refused = await runJson(['run', 'users'], env);
    expect(refused.code).toBe(1);
    expect(refused.report).toMatchObject({ status: 'failed', sent: 0 });
    const errors = refused.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([
      'error: sync users: mirror would delete 6 of the 10 rows this sync has synced (60%), more than delete_guard.max_share (50%); ' +
        'nothing was sent. Check the model; if the deletes are meant, run again with --allow-deletes.',
    ]);
    expect(sink!.received.length).toBe(sent);
    expect(sink!.rows.size).toBe(10);
    expect(await lastRun(env)).toMatchObject({ status: 'failed', error: expect.stringContaining('mirror would delete 6 of the 10') });

    const allowed = await runJson(['run', 'users', '--allow-deletes'], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.report).toMatchObject({ status: 'succeeded', succeeded: 6 });
    expect([...sink!.rows.keys()].sort()).toEqual(['10', '7', '8', '9']);
    // Allowed once: nothing is left to delete, and the next run passes by itself.
    expect((await runJson(['run', 'users'], env)).code).toBe(0);
  });

  it('lets exactly half through by default, and honours a configured share', async () => {
    const env = await setup('delete_guard: { max_share: 0.2 }\n');
    await project!.warehouse('delete from users where id <= 3');
    const refused = await runJson(['run', 'users'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('more than delete_guard.max_share (20%)');
    expect(sink!.rows.size).toBe(10);

    await project!.write('syncs/users.yaml', 'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email }\n');
    await project!.warehouse('delete from users where id <= 5');
    const half = await runJson(['run', 'users'], env);
    expect(half.code, half.stderr).toBe(0);
    expect(half.report.delete_guard).toMatchObject({ deletes: 5, synced: 10, stops: false });
    expect(sink!.rows.size).toBe(5);
  });

  it('always stops when the model returns no row, whatever the share', async () => {
    const env = await setup('delete_guard: { max_share: 1 }\n');
    await project!.warehouse('delete from users');
    const plan = await runJson(['plan', 'users'], env);
    expect(plan.report.delete_guard).toMatchObject({ stops: true, reason: expect.stringContaining('the model returned no valid row') });
    const refused = await runJson(['run', 'users'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: sync users: the model returned no valid row, so mirror would delete 10 of the 10 rows');
    expect(sink!.rows.size).toBe(10);
    const allowed = await runJson(['run', 'users', '--allow-deletes'], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(sink!.rows.size).toBe(0);
  });
});

it('an http receiver answering one id for every row still gets each delete: without external_id deletes go by key', async () => {
  sink = await startHttpSink({ idFor: () => 'same' });
  project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "${SINK_URL}" }\n',
    'models/users.sql': 'select id, email from users',
    'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email }\n',
  });
  await project.warehouse(`create table users as select i as id, 'u' || i || '@x.io' as email from range(1, 11) t(i)`);
  const env = { SINK_URL: sink.url };
  expect((await runJson(['run', 'users'], env)).report).toMatchObject({ succeeded: 10 });
  // A delete beside an update, then a delete alone: each goes, whatever id the receiver gave.
  await project.warehouse(`delete from users where id = 3; update users set email = 'new@x.io' where id = 1`);
  const second = await runJson(['run', 'users'], env);
  expect(second.report).toMatchObject({ sent: 2, succeeded: 2, plan: { superseded: 0, to_delete: 1, to_update: 1 } });
  await project.warehouse('delete from users where id = 4');
  const third = await runJson(['run', 'users'], env);
  expect(third.report).toMatchObject({ sent: 1, succeeded: 1 });
  expect(third.stderr).not.toContain('deletes_superseded');
  expect([...sink.rows.keys()].sort()).toEqual(['1', '10', '2', '5', '6', '7', '8', '9']);
});

it('a run its call limit stops leaves pending only the page it was sending: no delete for a row never sent', async () => {
  // The executor reads the next page while it sends one (executor.ts), but marks its keys pending only
  // once it takes it: marked ahead, the 10,000 rows of page 2 would be "maybe sent" and deleted here.
  sink = await startHttpSink({});
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api:
    type: http
    url: \${SINK_URL}
    concurrency: 1
    api_budget: { max_calls_per_run: 3 }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email }\nbatch_size: 100\n',
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, 25001)`);
  const env = { SINK_URL: sink.url };
  const first = await runJson(['run', 'users'], env);
  expect(first.report).toMatchObject({ succeeded: 300 });
  // Page 1's 10,000 keys less the 300 acknowledged; page 2's would make it 19,700.
  const pending = JSON.parse((await project.cli(['query', 'select count(*)::int as n from sync_pending', '--json'], env)).stdout);
  expect(pending).toEqual([{ n: 9_700 }]);
  // The keys a removal could delete: the 300 synced and page 1's pending ones.
  const plan = JSON.parse((await project.cli(['plan', 'users', '--json'], env)).stdout)[0];
  expect(plan).toMatchObject({ snapshot_rows: 10_000 });
  // The next run plans the pending keys again and marks its first page: a key already pending is not
  // recorded twice (the table has no key index), and the 300 it acknowledges leave.
  const second = await runJson(['run', 'users'], env);
  expect(second.report).toMatchObject({ succeeded: 300 });
  const marks = JSON.parse(
    (await project.cli(['query', 'select count(*)::int as n, count(distinct primary_key)::int as keys from sync_pending', '--json'], env))
      .stdout,
  );
  expect(marks).toEqual([{ n: 9_700, keys: 9_700 }]);
}, 60_000);

it('a delete waiting for the writes before it sees their retries: their calls reach max_calls_per_run, so it is deferred', async () => {
  // Deletes by destination id wait for every write handed out to be committed (executor.ts
  // `withoutHeldDeletes`); only then is the call limit checked. Checked before that wait, the upsert
  // batch on the wire counts as 1 call of 3 and the delete leaves after its retries: a 4th call.
  // Concurrency 2, so the delete batch finds room in the window while the upsert batch is still out.
  sink = await startHttpSink();
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api:
    type: http
    url: \${SINK_URL}
    concurrency: 2
    api_budget: { max_calls_per_run: 3 }
`,
    'models/users.sql': 'select id, ext, email from users',
    'syncs/users.yaml':
      'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nexternal_id: ext\nmapping: { ext: ext, email: email }\n' +
      'batch_size: 10\nretry: { attempts: 3, base_delay_ms: 1, max_delay_ms: 5 }\n',
  });
  await project.warehouse(`create table users as select i as id, 'e' || i as ext, 'u' || i || '@x.io' as email from range(1, 7) t(i)`);
  const env = { SINK_URL: sink.url };
  const first = await runJson(['run', 'users'], env);
  expect(first.code, first.stderr).toBe(0);
  expect(first.report).toMatchObject({ succeeded: 6, api_calls: 1 });

  // Two changed rows (one upsert batch) and two removed (one delete batch, after it in the plan).
  await project.warehouse(`update users set email = 'new' || id || '@x.io' where id <= 2; delete from users where id >= 5`);
  sink.failNext(2, 503);
  const before = sink.received.length;
  const limited = await runJson(['run', 'users'], env);
  expect(limited.code, limited.stderr).toBe(3);
  // The upsert's two 503s and its success are the 3 calls; the delete is deferred, not sent.
  expect(limited.report).toMatchObject({
    status: 'deferred',
    plan: { to_update: 2, to_delete: 2 },
    sent: 2,
    succeeded: 2,
    api_calls: 3,
    deferred: 2,
  });
  expect(sink.received.slice(before).map((r) => r.operation)).toEqual(['upsert', 'upsert', 'upsert']);
  expect([...sink.rows.keys()].sort()).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);

  // The next run sends the deferred deletes alone, and the receiver holds the model.
  const next = await runJson(['run', 'users'], env);
  expect(next.code, next.stderr).toBe(0);
  expect(next.report).toMatchObject({ status: 'succeeded', plan: { to_update: 0, to_delete: 2 }, succeeded: 2, api_calls: 1 });
  expect(Object.fromEntries(sink.rows)).toEqual({
    e1: { ext: 'e1', email: 'new1@x.io' },
    e2: { ext: 'e2', email: 'new2@x.io' },
    e3: { ext: 'e3', email: 'u3@x.io' },
    e4: { ext: 'e4', email: 'u4@x.io' },
  });
});
