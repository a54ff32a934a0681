/**
 * The same sync over every warehouse/state pairing: PostgreSQL for both (diff inside PostgreSQL),
 * DuckDB warehouse with PostgreSQL state, and PostgreSQL warehouse with DuckDB state (rows stream
 * between them in chunks). Runs against the real local PostgreSQL; fails, never skips, without it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const BASE = PG_BASE;
const admin = usePgAdmin();
let counter = 0;

let project: TestProject;
let sink: HttpSink;
let schema: string;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
});

/** A URL whose connections work inside their own schema, so parallel tests never share state tables. */
const urlFor = (s: string) => `${BASE}?options=${encodeURIComponent(`-c search_path=${s}`)}`;

const pairings = [
  { name: 'postgres warehouse, postgres state', warehouse: 'postgres', state: 'postgres' },
  { name: 'duckdb warehouse, postgres state', warehouse: 'duckdb', state: 'postgres' },
  { name: 'postgres warehouse, duckdb state', warehouse: 'postgres', state: 'duckdb' },
] as const;

describe.each(pairings)('$name', ({ warehouse, state }) => {
  async function setup() {
    schema = `htl_${process.pid}_${++counter}`;
    await admin.query(`create schema ${schema}`);
    sink = await startHttpSink();
    const url = urlFor(schema);
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: ${warehouse === 'postgres' ? `{ type: postgres, url: "\${PG_URL}" }` : '{ type: duckdb, path: warehouse.duckdb }'}
state: ${state === 'postgres' ? `{ type: postgres, url: "\${PG_URL}" }` : '{ type: duckdb, path: state.duckdb }'}
destinations:
  api: { type: http, url: "\${SINK_URL}" }
`,
      'models/users.sql': 'select id, email, score, updated_at from users',
      'syncs/users.yaml':
        'model: users\ndestination: api\nprimary_key: id\nmode: mirror\nmapping: { email: email, score: score, updated_at: updated_at }\nbatch_size: 7\n',
    });
    const create = `create table users as select g as id, 'u' || g || '@x.io' as email, g * 1.5 as score,
      timestamp '2026-01-01 00:00:00' + g * interval '1 minute' as updated_at from generate_series(1, 50) as t(g)`;
    if (warehouse === 'postgres') await admin.query(`set search_path = ${schema}; ${create}; reset search_path`);
    else await project.warehouse(create);
    const change = async (statements: string) => {
      if (warehouse === 'postgres') await admin.query(`set search_path = ${schema}; ${statements}; reset search_path`);
      else await project.warehouse(statements);
    };
    return { env: { PG_URL: url, SINK_URL: sink.url }, change };
  }

  it('first run, incremental run, mirror delete, invalid keys and SQL over the state', async () => {
    const { env, change } = await setup();
    const run = async () => {
      const result = await project.cli(['run', 'users', '--json'], env);
      return { code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout || '[{}]')[0] };
    };

    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(first.report).toMatchObject({ succeeded: 50, api_calls: 8 });
    expect(sink.rows.size).toBe(50);
    expect(sink.rows.get('3')).toMatchObject({ email: 'u3@x.io', score: 4.5 });

    await change(
      `update users set score = 0 where id = 3; delete from users where id = 4; insert into users values (51, 'new@x.io', 1, timestamp '2026-02-01 00:00:00')`,
    );
    const before = sink.received.length;
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.plan).toMatchObject({ added: 1, changed: 1, removed: 1, unchanged: 48 });
    expect(
      sink.received
        .slice(before)
        .map((r) => `${r.operation}:${r.rows.map((x) => x.key).join(',')}`)
        .sort(),
    ).toEqual(['delete:4', 'upsert:3,51']);
    expect(sink.rows.has('4')).toBe(false);
    expect(sink.rows.get('3')).toMatchObject({ score: 0 });

    await change(`insert into users values (null, 'nokey@x.io', 0, null), (7, 'dup@x.io', 0, null)`);
    const third = await run();
    expect(third.code, third.stderr).toBe(2);
    expect(third.report).toMatchObject({ invalid: 3, sent: 0 });

    const query = await project.cli(
      ['query', 'select sync_name, status, rows_succeeded, rows_invalid from sync_runs order by started_at', '--json'],
      env,
    );
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([
      { sync_name: 'users', status: 'succeeded', rows_succeeded: 50, rows_invalid: 0 },
      { sync_name: 'users', status: 'succeeded', rows_succeeded: 3, rows_invalid: 0 },
      { sync_name: 'users', status: 'completed_with_errors', rows_succeeded: 0, rows_invalid: 3 },
    ]);
  });
});
