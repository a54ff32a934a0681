/**
 * SQL the user writes runs sandboxed: `query` is one read-only query that cannot touch files, the
 * state or the machine, on DuckDB and on PostgreSQL state; a model is exactly one query, decided by the
 * warehouse's parser, and runs read-only. Every attack here used to succeed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

const BASE = 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client(BASE);
const urlFor = (schema: string, base = BASE) => `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const schemas: string[] = [];
const projects: TestProject[] = [];
let sink: HttpSink;

beforeAll(async () => {
  await admin.connect();
  sink = await startHttpSink();
  sink.rejectKeys(['1', '3']);
});
afterAll(async () => {
  for (const p of projects) await p.remove();
  for (const s of schemas) await admin.query(`drop schema if exists ${s} cascade`);
  await admin.end();
  await sink.close();
});

async function newSchema(): Promise<string> {
  const schema = `htl_sandbox_${process.pid}_${schemas.length}`;
  schemas.push(schema);
  await admin.query(`create schema ${schema}`);
  return schema;
}

async function newProject(files: Record<string, string>): Promise<TestProject> {
  const project = await createProject(files);
  projects.push(project);
  return project;
}

const CONFIG_TAIL = 'destinations:\n  api: { type: http, url: "${SINK_URL}" }\n';
// A sync name of its own: PostgreSQL state locks a sync by name across the database, and other test files run `users`.
const SYNC = 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\n';
const USERS = `create table users as select g as id, 'u' || g || '@x.io' as email from generate_series(1, 5) as t(g)`;

/** What every refused query must leave behind: exit 1, one line on stderr saying why. */
function expectRefused(result: { code: number | null; stderr: string }, why: RegExp) {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(why);
}

/** `run --json` records a model the warehouse refuses as a failed run of its sync, with the same line. */
function expectRunFailed(result: { code: number | null; stdout: string; stderr: string }, why: RegExp) {
  expect(result.code, result.stderr).toBe(1);
  const [report] = JSON.parse(result.stdout);
  expect(report).toMatchObject({ status: 'failed', sent: 0 });
  expect(`error: ${report.error}`).toMatch(why);
}

/** Queries that must keep working on both state stores, README examples included. */
const POSITIVE = [
  { sql: 'select run_id, status, rows_planned, rows_succeeded, api_calls from sync_runs', expect: /succeeded|completed_with_errors/ },
  { sql: 'select error_class, error_code, count(*) from failed_rows group by 1, 2 order by 3 desc;', expect: /rejected/ },
  { sql: `select * from sync_changelog where primary_key = '3' order by "at";`, expect: /failed/ },
  { sql: 'with f as (select primary_key from failed_rows) select count(*) as n from f', expect: /\b2\b/ },
  { sql: `values (1, 'one'), (2, 'two')`, expect: /two/ },
  {
    sql: 'select r.status, count(*) as n from sync_changelog c join sync_runs r on r.run_id = c.run_id group by 1',
    expect: /completed_with_errors \| 5/,
  },
];

describe('query on DuckDB state', () => {
  let project: TestProject;
  let env: Record<string, string>;
  const statePath = () => join(project.dir, '.hightouch-like', 'state.duckdb');
  const failedRows = async () =>
    JSON.parse((await project.cli(['query', 'select count(*)::int as n from failed_rows', '--json'], env)).stdout);

  beforeAll(async () => {
    env = { SINK_URL: sink.url };
    project = await newProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\n${CONFIG_TAIL}`,
      'models/users.sql': 'select * from users',
      'syncs/sandboxed.yaml': SYNC,
    });
    await project.warehouse(USERS.replace('generate_series(1, 5) as t(g)', 'range(1, 6) as t(g)'));
    expect((await project.cli(['run', 'sandboxed'], env)).code).toBe(2);
  });

  it.each(POSITIVE)('answers $sql', async ({ sql, expect: pattern }) => {
    const result = await project.cli(['query', sql], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(pattern);
  });

  it('bounds a query in memory and time: a runaway one is stopped with one line, and the file lock freed', async () => {
    const runaway = await project.cli(['query', 'select count(*) from range(100000000000) a, range(1000) b'], {
      ...env,
      HIGHTOUCH_LIKE_QUERY_TIMEOUT_MS: '500',
    });
    expectRefused(runaway, /the query ran past 0\.5 s and was stopped/);
    const limit = await project.cli(['query', "select current_setting('memory_limit') as m", '--json'], env);
    expect(JSON.parse(limit.stdout)[0].m).toMatch(/^6\d\d\.\d MiB$/);
  });

  it('refuses EXPORT DATABASE and COPY to a file, writing nothing', async () => {
    const exported = join(project.dir, 'exported');
    // DuckDB refuses to prepare these (no file access) before their statement type can be read.
    const noFiles = /^error: SQL error: Permission Error: Cannot access file .* disabled by configuration/;
    expectRefused(await project.cli(['query', `export database '${exported}'`], env), noFiles);
    const csv = join(project.dir, 'failed.csv');
    expectRefused(await project.cli(['query', `copy failed_rows to '${csv}'`], env), noFiles);
    expect(existsSync(exported)).toBe(false);
    expect(existsSync(csv)).toBe(false);
  });

  it.each([
    `select * from read_csv('/etc/passwd', header=false)`,
    `select * from read_text('/etc/hostname')`,
    `select * from glob('/etc/*')`,
    `select * from read_blob('/etc/hostname')`,
  ])('reads no file: %s', async (sql) => {
    const result = await project.cli(['query', sql], env);
    expectRefused(result, /^error: SQL error: Permission Error: .*disabled by configuration/);
    expect(result.stdout).toBe('');
  });

  it.each([
    [`attach '${'/tmp'}/htl-sandbox-other.duckdb' as other`, /got ATTACH/],
    ['install httpfs', /got (INSTALL|LOAD)/],
    ['load json', /got LOAD/],
    [`set memory_limit = '1GB'`, /got (SET|VARIABLE SET)/],
    ['pragma enable_profiling', /got PRAGMA/],
    ['checkpoint', /got CALL/],
    ['select 1; select 2', /got 2 statements/],
    ['delete from failed_rows', /got DELETE/],
  ])('refuses %s', async (sql, why) => {
    expectRefused(await project.cli(['query', sql], env), why);
    expect(await failedRows()).toEqual([{ n: 2 }]);
  });

  // Last: on the old code this one destroyed the state file the other cases read.
  it('refuses COPY over the state file, which stays intact', async () => {
    const result = await project.cli(['query', `copy (select 'x' as x) to '${statePath()}' (format csv)`], env);
    expectRefused(result, /^error: query: only one read-only query is allowed \(got COPY\)\./);
    expect(await failedRows()).toEqual([{ n: 2 }]);
    expect((await project.cli(['status'], env)).code).toBe(0);
  });
});

describe('query on PostgreSQL state', () => {
  let project: TestProject;
  let env: Record<string, string>;
  let schema: string;
  const role = `htl_sandbox_reader_${process.pid}`;
  const touched = `/tmp/htl-sandbox-${process.pid}-program`;
  const largeObjects = async () => Number((await admin.query('select count(*) as n from pg_largeobject_metadata')).rows[0].n);
  const stateTables = async () =>
    (
      await admin.query(`select table_name from information_schema.tables where table_schema = $1 and table_name like 'sync%' order by 1`, [
        schema,
      ])
    ).rows.map((r) => r.table_name);
  const snapshotRows = async () => Number((await admin.query(`select count(*) as n from ${schema}.sync_snapshots`)).rows[0].n);

  beforeAll(async () => {
    schema = await newSchema();
    env = { SINK_URL: sink.url, PG_URL: urlFor(schema) };
    project = await newProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\nstate: { type: postgres, url: "\${PG_URL}" }\n${CONFIG_TAIL}`,
      'models/users.sql': 'select * from users',
      'syncs/sandboxed.yaml': SYNC,
    });
    await project.warehouse(USERS.replace('generate_series(1, 5) as t(g)', 'range(1, 6) as t(g)'));
    expect((await project.cli(['run', 'sandboxed'], env)).code).toBe(2);
  });
  afterAll(async () => {
    await admin.query(`drop owned by ${role}`).catch(() => {});
    await admin.query(`drop role if exists ${role}`);
  });

  it.each(POSITIVE)('answers $sql', async ({ sql, expect: pattern }) => {
    const result = await project.cli(['query', sql], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(pattern);
  });

  it('refuses a read-write transaction that truncates and drops state tables', async () => {
    const before = await stateTables();
    const result = await project.cli(
      ['query', 'begin read write; truncate sync_snapshots, sync_snapshot_log; drop table sync_changelog; commit'],
      env,
    );
    expectRefused(result, /^error: query: only one read-only query is allowed \(got BEGIN\)\./);
    expect(await stateTables()).toEqual(before);
    expect(await snapshotRows()).toBe(3);
  });

  it('refuses COPY TO PROGRAM, TRUNCATE, DO and CREATE TABLE AS', async () => {
    expectRefused(await project.cli(['query', `copy (select 1) to program 'touch ${touched}'`], env), /got COPY/);
    expect(existsSync(touched)).toBe(false);
    expectRefused(await project.cli(['query', 'truncate sync_snapshots'], env), /got TRUNCATE/);
    expectRefused(await project.cli(['query', `do $$ begin delete from sync_snapshots; end $$`], env), /got DO/);
    expectRefused(await project.cli(['query', 'create table stolen as select * from sync_snapshots'], env), /got CREATE/);
    expectRefused(
      await project.cli(['query', 'with d as (delete from sync_snapshots returning 1) select count(*) from d'], env),
      /modifies rows|permission denied for table sync_snapshots/,
    );
    expectRefused(
      await project.cli(['query', 'select * from sync_snapshots for update'], env),
      /locks rows|permission denied for table sync_snapshots/,
    );
    expect(await snapshotRows()).toBe(3);
    expect(await stateTables()).not.toContain('stolen');
  });

  it('refuses superuser functions: lo_import persists nothing, pg_read_file reads nothing', async () => {
    const before = await largeObjects();
    expectRefused(
      await project.cli(['query', `select lo_import('/etc/hostname')`], env),
      /permission denied for function lo_import|got a call to lo_import/,
    );
    expect(await largeObjects()).toBe(before);
    const read = await project.cli(['query', `select pg_read_file('/etc/hostname')`], env);
    expectRefused(read, /permission denied for function pg_read_file/);
  });

  it('reads only the state tables: the catalog (password hashes) and other schemas are refused', async () => {
    expectRefused(
      await project.cli(['query', 'select rolname, rolpassword from pg_authid'], env),
      /got a read of pg_catalog\.pg_authid, outside the state tables/,
    );
    expectRefused(await project.cli(['query', 'select * from information_schema.tables'], env), /outside the state tables/);
    // Functions that read whole tables by name never show a scan in the plan.
    expectRefused(
      await project.cli(['query', "select table_to_xml('pg_catalog.pg_authid', true, false, '')::text"], env),
      /got a call to table_to_xml/,
    );
    expectRefused(
      await project.cli(['query', "select length(database_to_xml(true, false, '')::text)"], env),
      /got a call to database_to_xml/,
    );
    const ok = await project.cli(['query', 'select count(*) as n from sync_runs r join sync_changelog c using (run_id)', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('refuses switching the role back with set_config, directly or through SQL run at run time', async () => {
    const roleSwitch = `select set_config('session_authorization', 'postgres', true), query_to_xml('select pg_read_file(''/etc/hostname'')', true, false, '')`;
    expectRefused(await project.cli(['query', roleSwitch], env), /got a call to set_config/);
    const hidden = `select query_to_xml('select set_' || 'config(''role'', ''postgres'', true)', true, false, '')`;
    expectRefused(await project.cli(['query', hidden], env), /got a call to query_to_xml/);
  });

  it('connects with state.query_url, a role that may only read the state tables', async () => {
    await admin.query(`create role ${role} login`);
    await admin.query(`grant usage on schema ${schema} to ${role}`);
    await admin.query(`grant select on all tables in schema ${schema} to ${role}`);
    await project.write(
      'hightouch-like.config.yaml',
      `warehouse: { type: duckdb, path: warehouse.duckdb }\nstate: { type: postgres, url: "\${PG_URL}", query_url: "\${PG_QUERY_URL}" }\n${CONFIG_TAIL}`,
    );
    const readerEnv = { ...env, PG_QUERY_URL: urlFor(schema, `postgres://${role}@127.0.0.1:5432/test`) };
    const who = await project.cli(['query', 'select current_user as who, count(*)::int as n from failed_rows', '--json'], readerEnv);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout)).toEqual([{ who: role, n: 2 }]);
    const read = await project.cli(['query', `select pg_read_file('/etc/hostname')`], readerEnv);
    expectRefused(read, /permission denied for function pg_read_file/);
    // The sync itself still writes through state.url.
    const run = await project.cli(['run', 'sandboxed'], readerEnv);
    expect(run.code, run.stderr).toBe(2);
  });
});

describe('model SQL', () => {
  it('DuckDB: a nested comment cannot hide a second statement, and nothing is written', async () => {
    const pwned = '/tmp/htl-sandbox-' + process.pid + '-model.csv';
    const project = await newProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\n${CONFIG_TAIL}`,
      // A scanner without nested comments reads one statement; DuckDB reads three.
      'models/users.sql': `select 1 as id, 'a@x.io' as email /* /* */ ' */ ;\ncopy (select 42 as x) to '${pwned}' (format csv);\ndescribe select 1 as id, '' as email -- '\n`,
      'syncs/sandboxed.yaml': SYNC,
    });
    await project.warehouse(USERS.replace('generate_series(1, 5) as t(g)', 'range(1, 6) as t(g)'));
    const why = /^error: models\/users\.sql:1: the model holds more than one SQL statement\./;
    for (const command of [['validate'], ['plan', 'sandboxed']]) {
      expectRefused(await project.cli(command, { SINK_URL: sink.url }), why);
      expect(existsSync(pwned)).toBe(false);
    }
    expectRunFailed(await project.cli(['run', 'sandboxed', '--json'], { SINK_URL: sink.url }), why);
    expect(existsSync(pwned)).toBe(false);
  });

  it('DuckDB: a model that is not a query fails validate with file:line', async () => {
    const project = await newProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\n${CONFIG_TAIL}`,
      'models/users.sql': `-- export\n\ncopy users to '/tmp/htl-sandbox-${process.pid}-copy.csv'`,
      'syncs/sandboxed.yaml': SYNC,
    });
    await project.warehouse(USERS.replace('generate_series(1, 5) as t(g)', 'range(1, 6) as t(g)'));
    expectRefused(
      await project.cli(['validate'], { SINK_URL: sink.url }),
      /^error: models\/users\.sql:3: the model must be one query \(SELECT, WITH … SELECT or VALUES\), not COPY\./,
    );
    expect(existsSync(`/tmp/htl-sandbox-${process.pid}-copy.csv`)).toBe(false);
  });

  it('DuckDB: nested comments, a trailing ; and a CSV read relative to the project still work', async () => {
    const project = await newProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\n${CONFIG_TAIL}`,
      'models/users.sql': `/* users /* from a CSV */ ; */\nselect id, email from read_csv('data/users.csv');  -- done\n`,
      'data/users.csv': 'id,email\n10,a@x.io\n11,b@x.io\n',
      'syncs/sandboxed.yaml': SYNC,
    });
    await project.warehouse('select 1');
    expect((await project.cli(['validate'], { SINK_URL: sink.url })).stdout).toMatch(/^ok: 1 models/);
    const run = await project.cli(['run', 'sandboxed', '--json'], { SINK_URL: sink.url });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ succeeded: 2 });
  });

  describe('PostgreSQL warehouse and state', () => {
    let schema: string;
    let env: Record<string, string>;
    const victims = async () => Number((await admin.query(`select count(*) as n from ${schema}.victims`)).rows[0].n);

    beforeAll(async () => {
      schema = await newSchema();
      env = { SINK_URL: sink.url, PG_URL: urlFor(schema) };
      await admin.query(
        `set search_path = ${schema}; ${USERS}; create table victims as select 1 as v; create sequence wh_seq; reset search_path`,
      );
    });

    const pgProject = (model: string) =>
      newProject({
        'hightouch-like.config.yaml': `warehouse: { type: postgres, url: "\${PG_URL}" }\nstate: { type: postgres, url: "\${PG_URL}" }\n${CONFIG_TAIL}`,
        'models/users.sql': model,
        'syncs/sandboxed.yaml': SYNC,
      });

    it("an E'\\'' string cannot hide a DELETE from validate", async () => {
      // A scanner that does not know E'' strings reads one statement; PostgreSQL reads three.
      const project = await pgProject(
        `select 1 as id, E'\\'' as email) as m limit 0; delete from victims; select * from (select 1 as id, 'x' as email -- '`,
      );
      const result = await project.cli(['validate'], env);
      expectRefused(result, /^error: models\/users\.sql:1: /);
      expect(await victims()).toBe(1);
    });

    it("several statements behind an E'\\'' string are refused as such, by validate, plan and run", async () => {
      const project = await pgProject(`select 1 as id, E'\\'' as email; delete from victims; select 1 as id, 'x' as email -- '`);
      const why = /^error: models\/users\.sql:1: the model holds more than one SQL statement\./;
      for (const command of [['validate'], ['plan', 'sandboxed']]) expectRefused(await project.cli(command, env), why);
      expectRunFailed(await project.cli(['run', 'sandboxed', '--json'], env), why);
      expect(await victims()).toBe(1);
    });

    it('a model that is not a query fails validate with file:line', async () => {
      const project = await pgProject('\n  delete from victims returning 1 as id, 2 as email');
      expectRefused(
        await project.cli(['validate'], env),
        /^error: models\/users\.sql:2: the model must be one query \(SELECT, WITH … SELECT or VALUES\), not DELETE\./,
      );
      const cte = await pgProject('with d as (delete from victims returning 1 as id, 2 as email) select * from d');
      expectRefused(
        await cte.cli(['validate'], env),
        /^error: models\/users\.sql:1: SQL error: views must not contain data-modifying statements in WITH/,
      );
      expect(await victims()).toBe(1);
    });

    it('runs the model in a read-only transaction: nextval is refused and the sequence does not move', async () => {
      const project = await pgProject(`select id, email, nextval('wh_seq') as n from users`);
      expectRefused(
        await project.cli(['plan', 'sandboxed'], env),
        /^error: models\/users\.sql:1: SQL error: cannot execute nextval\(\) in a read-only transaction/,
      );
      expect((await admin.query(`select is_called from ${schema}.wh_seq`)).rows[0].is_called).toBe(false);
    });

    it("ordinary models still run: WITH, a legitimate E'\\'' string, a trailing ; and comment", async () => {
      const project = await pgProject(`with u as (select id, email || E'\\'' as email from users)\nselect * from u; -- done\n`);
      expect((await project.cli(['validate'], env)).code).toBe(0);
      const run = await project.cli(['run', 'sandboxed', '--json'], env);
      expect(run.code, run.stderr).toBe(2);
      expect(JSON.parse(run.stdout)[0]).toMatchObject({ succeeded: 3, failed: 2 });
    });
  });
});
