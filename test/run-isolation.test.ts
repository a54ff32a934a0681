/**
 * Every sync is isolated: `run --all` over four syncs, one good (to an http sink that answers) and three
 * that fail their preflight (an http destination with nothing listening, a model with a SQL error, a
 * mapping naming a column the model lacks). The good one syncs; each bad one is a failed run of its own
 * in `sync_runs`; the command exits 1. On DuckDB and on PostgreSQL state (a schema per test).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, logEvents, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { closedPort } from './support/closed-port.js';

const BASE = PG_BASE;
const admin = usePgAdmin();
let counter = 0;

let project: TestProject;
let sink: HttpSink;
/** Sinks still open: each test closes its own. */
const sinks: HttpSink[] = [];
let schema: string | undefined;
afterEach(async () => {
  await project?.remove();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  schema = undefined;
});

const ROWS = 25;
const DOWN_ERROR =
  /^hightouch-like\.config\.yaml:\d+: destinations\.down: destination "down" \(http\) is not usable: .*cannot connect to 127\.0\.0\.1:\d+/;
const BROKEN_ERROR = /^models\/broken\.sql:2: SQL error: Catalog Error: Table with name no_such_table does not exist/;
const MISSING_ERROR = /^syncs\/missing_column\.yaml:6: mapping\.name: column "full_name" is not in model users/;

async function setup(state: 'duckdb' | 'postgres') {
  sink = await startHttpSink();
  sinks.push(sink);
  const env: Record<string, string> = { SINK_URL: sink.url, DOWN_URL: `http://127.0.0.1:${await closedPort()}/rows` };
  if (state === 'postgres') {
    schema = `htl_iso_${process.pid}_${++counter}`;
    await admin.query(`create schema ${schema}`);
    env.PG_URL = `${BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  }
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
state: ${state === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  api: { type: http, url: "\${SINK_URL}" }
  down: { type: http, url: "\${DOWN_URL}" }
`,
    'models/users.sql': 'select id, email from users',
    'models/broken.sql': 'select id, email\nfrom no_such_table',
    'syncs/good.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\n',
    'syncs/down.yaml': 'model: users\ndestination: down\nprimary_key: id\nmapping: { email: email }\n',
    'syncs/broken.yaml': 'model: broken\ndestination: api\nprimary_key: id\nmapping: { email: email }\n',
    'syncs/missing_column.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping:\n  email: email\n  name: full_name\n',
  });
  await project.warehouse(`create table users as select g as id, 'u' || g || '@x.io' as email from range(1, ${ROWS + 1}) t(g)`);
  return env;
}

async function runAll(env: Record<string, string>) {
  const result = await project.cli(['run', '--all', '--json'], env);
  const reports = JSON.parse(result.stdout || '[]') as Array<Record<string, unknown>>;
  return { ...result, bySync: Object.fromEntries(reports.map((r) => [r.sync, r])) };
}

async function syncRuns(env: Record<string, string>) {
  const result = await project.cli(
    ['query', 'select sync_name, status, rows_planned, rows_succeeded, error from sync_runs order by sync_name, run_id', '--json'],
    env,
  );
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as Array<Record<string, unknown>>).map((r) => ({
    ...r,
    rows_planned: Number(r.rows_planned),
    rows_succeeded: Number(r.rows_succeeded),
  }));
}

function expectFailedRuns(rows: Array<Record<string, unknown>>, sync: string, error: RegExp, count: number) {
  const runs = rows.filter((r) => r.sync_name === sync);
  expect(runs, sync).toHaveLength(count);
  for (const run of runs) {
    expect(run).toMatchObject({ status: 'failed', rows_planned: 0, rows_succeeded: 0 });
    expect(run.error).toMatch(error);
  }
}

describe.each(['duckdb', 'postgres'] as const)('%s state: run --all isolates each sync', (state) => {
  it('syncs the good sync, records each failed preflight as a failed run, exits 1, and does it again', async () => {
    const env = await setup(state);

    const first = await runAll(env);
    expect(first.code, first.stderr).toBe(1);
    expect(first.bySync.good).toMatchObject({ status: 'succeeded', succeeded: ROWS, error: null });
    expect(first.bySync.down).toMatchObject({ status: 'failed', sent: 0 });
    expect(first.bySync.down.error).toMatch(DOWN_ERROR);
    expect(first.bySync.broken).toMatchObject({ status: 'failed', sent: 0 });
    expect(first.bySync.broken.error).toMatch(BROKEN_ERROR);
    expect(first.bySync.missing_column).toMatchObject({ status: 'failed', sent: 0 });
    expect(first.bySync.missing_column.error).toMatch(MISSING_ERROR);
    expect(sink.rows.size).toBe(ROWS);
    expect(sink.rows.get('7')).toEqual({ email: 'u7@x.io' });

    const failedEvents = logEvents(first.stderr).filter((e) => e.msg === 'run_failed');
    expect(failedEvents.map((e) => e.sync).sort()).toEqual(['broken', 'down', 'missing_column']);
    for (const event of failedEvents)
      expect(event).toMatchObject({ run_id: first.bySync[event.sync as string].run_id, error: first.bySync[event.sync as string].error });

    const afterFirst = await syncRuns(env);
    expect(afterFirst.filter((r) => r.sync_name === 'good')).toEqual([
      expect.objectContaining({ status: 'succeeded', rows_planned: ROWS, rows_succeeded: ROWS, error: null }),
    ]);
    expectFailedRuns(afterFirst, 'down', DOWN_ERROR, 1);
    expectFailedRuns(afterFirst, 'broken', BROKEN_ERROR, 1);
    expectFailedRuns(afterFirst, 'missing_column', MISSING_ERROR, 1);

    const requests = sink.received.length;
    const second = await runAll(env);
    expect(second.code, second.stderr).toBe(1);
    expect(second.bySync.good).toMatchObject({ status: 'succeeded', sent: 0 });
    expect(sink.received.length, 'nothing new sent for the good sync').toBe(requests);

    const afterSecond = await syncRuns(env);
    expect(afterSecond.filter((r) => r.sync_name === 'good').map((r) => [r.status, r.rows_planned])).toEqual([
      ['succeeded', ROWS],
      ['succeeded', 0],
    ]);
    expectFailedRuns(afterSecond, 'down', DOWN_ERROR, 2);
    expectFailedRuns(afterSecond, 'broken', BROKEN_ERROR, 2);
    expectFailedRuns(afterSecond, 'missing_column', MISSING_ERROR, 2);
  });
});

describe('plan --all isolates each sync too', () => {
  it('plans the good sync, reports the others as failed, exits 1 and writes nothing', async () => {
    const env = await setup('duckdb');
    const result = await project.cli(['plan', '--all', '--json'], env);
    expect(result.code, result.stderr).toBe(1);
    const bySync = Object.fromEntries((JSON.parse(result.stdout) as Array<Record<string, unknown>>).map((r) => [r.sync, r]));
    expect(bySync.good).toMatchObject({ added: ROWS, planned: ROWS });
    expect(bySync.down).toMatchObject({ status: 'failed' });
    expect(bySync.down.error).toMatch(DOWN_ERROR);
    expect(bySync.broken.error).toMatch(BROKEN_ERROR);
    expect(bySync.missing_column.error).toMatch(MISSING_ERROR);
    const errors = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('error: '))
      .map((l) => l.slice('error: '.length));
    expect(errors).toHaveLength(3);
    for (const pattern of [DOWN_ERROR, BROKEN_ERROR, MISSING_ERROR])
      expect(
        errors.filter((e) => pattern.test(e)),
        String(pattern),
      ).toHaveLength(1);
    expect(existsSync(join(project.dir, 'state.duckdb')), 'no state').toBe(false);
    expect(sink.received).toHaveLength(0);
  });
});

describe('input about the whole project still stops at once', () => {
  it('an unknown sync name next to good ones: one line, exit 1, no state, nothing sent', async () => {
    const env = await setup('duckdb');
    const result = await project.cli(['run', 'good', 'nope'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: syncs\/nope\.yaml: no sync named "nope"/)]);
    expect(existsSync(join(project.dir, 'state.duckdb')), 'no state').toBe(false);
    expect(sink.received).toHaveLength(0);
  });
});

describe('a recorded preflight failure is masked', () => {
  it('keeps a secret named in the failing check out of sync_runs, the log and the summary', async () => {
    // Any string of a sync may come from the environment; a mapped column read that way is a secret.
    const secret = 'col_Isolated_4f3e2d1c';
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\nstate: { type: duckdb, path: state.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
      'models/users.sql': 'select id, email from users',
      'syncs/to_file.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping:\n  email: "${EMAIL_COLUMN}"\n',
    });
    await project.warehouse(`create table users as select 1 as id, 'a@x.io' as email`);
    const env = { EMAIL_COLUMN: secret };
    const result = await project.cli(['run', '--all', '--json'], env);
    expect(result.code, result.stderr).toBe(1);
    const [report] = JSON.parse(result.stdout);
    expect(report).toMatchObject({ sync: 'to_file', status: 'failed' });
    expect(report.error).toMatch(/^syncs\/to_file\.yaml:5: mapping\.email: column "\*\*\*" is not in model users/);
    const rows = await syncRuns(env);
    expect(rows).toEqual([expect.objectContaining({ sync_name: 'to_file', status: 'failed', error: report.error })]);
    expect(result.stdout + result.stderr + JSON.stringify(rows)).not.toContain(secret);
  });
});

describe('a model that fails while its rows are read', () => {
  it('is a failed run of its sync; the syncs after it still run', async () => {
    sink = await startHttpSink();
    sinks.push(sink);
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
state: { type: duckdb, path: state.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}" }
`,
      // The cast passes preflight (no row is read there) and fails on the fourth row, while planning.
      'models/bad_cast.sql': "select i as id, cast(case when i = 3 then 'x' else '1' end as int) as v from range(5) t(i)",
      'models/users.sql': 'select id, email from users',
      'syncs/a_bad.yaml': 'model: bad_cast\ndestination: api\nprimary_key: id\nmapping: { v: v }\n',
      'syncs/b_good.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\n',
    });
    await project.warehouse(`create table users as select g as id, 'u' || g || '@x.io' as email from range(1, ${ROWS + 1}) t(g)`);
    const env = { SINK_URL: sink.url };
    const result = await project.cli(['run', '--all', '--json'], env);
    expect(result.code, result.stderr).toBe(1);
    const reports = JSON.parse(result.stdout) as Array<{ sync: string; status: string; error: string | null }>;
    expect(reports.map((r) => [r.sync, r.status])).toEqual([
      ['a_bad', 'failed'],
      ['b_good', 'succeeded'],
    ]);
    expect(reports[0].error).toMatch(/^models\/bad_cast\.sql:\d+: SQL error: Conversion Error/);
    expect(sink.rows.size).toBe(ROWS);
    const runs = await project.cli(['query', 'select sync_name, status from sync_runs order by sync_name', '--json'], env);
    expect(JSON.parse(runs.stdout)).toEqual([
      { sync_name: 'a_bad', status: 'failed' },
      { sync_name: 'b_good', status: 'succeeded' },
    ]);
  });
});
