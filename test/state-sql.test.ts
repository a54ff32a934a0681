/** The state tables as a SQL surface: `query` (table, JSON, CSV, read-only) and `status`. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject;
let sink: HttpSink;
let env: Record<string, string>;

beforeAll(async () => {
  sink = await startHttpSink();
  env = { SINK_URL: sink.url };
  project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "${SINK_URL}" }\n',
    'models/users.sql': 'select * from users',
    'syncs/users.yaml':
      'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 2\nschedule: { every: 15m }\n',
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(5)`);
  sink.rejectKeys(['1', '3']);
  await project.cli(['run', 'users'], env);
});
afterAll(async () => {
  await project.remove();
  await sink.close();
});

describe('query', () => {
  it('answers SQL over the failed-row index as a table', async () => {
    const result = await project.cli(['query', 'select primary_key, error_class, error_code from failed_rows order by 1'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^primary_key \| error_class \| error_code/);
    expect(result.stdout).toMatch(/1\s+\| rejected\s+\| HTTP_ROW_REJECTED/);
    expect(result.stdout).toContain('(2 rows)');
  });

  it('prints JSON and CSV', async () => {
    const sqlText = `select op, status, count(*)::int as n from sync_changelog group by 1, 2 order by 2`;
    const json = await project.cli(['query', sqlText, '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual([
      { op: 'insert', status: 'failed', n: 2 },
      { op: 'insert', status: 'succeeded', n: 3 },
    ]);
    const csv = await project.cli(['query', sqlText, '--csv'], env);
    expect(csv.stdout).toBe('op,status,n\ninsert,failed,2\ninsert,succeeded,3\n');
  });

  it('is read-only', async () => {
    const result = await project.cli(['query', 'delete from failed_rows'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: query: only one read-only query is allowed \(got DELETE\)/);
    const still = await project.cli(['query', 'select count(*)::int as n from failed_rows', '--json'], env);
    expect(JSON.parse(still.stdout)).toEqual([{ n: 2 }]);
  });

  it('reports an SQL error in one line', async () => {
    const result = await project.cli(['query', 'select nope from sync_runs'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/SQL error: Binder Error: Referenced column "nope" not found/);
  });
});

describe('status', () => {
  it('shows each sync with its last run, schedule, next slot, synced rows and failing rows', async () => {
    const before = Date.now();
    const result = await project.cli(['status', '--json'], env);
    const after = Date.now();
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout);
    expect(rows).toEqual([
      expect.objectContaining({
        sync: 'users',
        last_status: 'completed_with_errors',
        synced_rows: 3,
        failed_rows: 2,
        destination: 'api',
        schedule: 'every 15m',
      }),
    ]);
    // The first multiple of 15 minutes since the epoch after the moment status ran.
    const next = Date.parse(rows[0].next_run_at);
    expect(next % 900_000).toBe(0);
    expect(next).toBeGreaterThan(before);
    expect(next).toBeLessThanOrEqual(after + 900_000);
    const text = await project.cli(['status'], env);
    expect(text.stdout.split('\n')[0]).toMatch(
      /^sync\s+\| last_status\s+\| last_finished_at\s+\| schedule\s+\| next_run_at\s+\| synced_rows/,
    );
    expect(text.stdout).toMatch(
      /users\s+\| completed_with_errors\s+\| \S+\s+\| every 15m\s+\| \d{4}-\d\d-\d\dT\d\d:(00|15|30|45):00\.000Z/,
    );
  });
});
