/**
 * A state commit that fails must fail the run, never hang it: text from destinations is made storable
 * before it reaches the state tables, a commit the state store refuses ends the run `failed` with the
 * reason, and a state connection lost mid-run says so and re-sends only what was in flight next run.
 * Runs against the real local PostgreSQL (each test in a schema of its own) and real DuckDB files.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink, type SinkOptions } from './support/http-sink.js';
import { createProject, logEvents, type CliResult, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { maxUnsettledBatches } from '../core/execute/send-window.js';

const BASE = PG_BASE;
const admin = usePgAdmin();
let counter = 0;

let project: TestProject;
let sink: HttpSink | undefined;
let schema: string | undefined;
const children = new Set<ChildProcess>();
afterEach(async () => {
  // A run that hangs (the defect this file guards against) must not outlive its test.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  await project?.remove();
  await sink?.close();
  sink = undefined;
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  schema = undefined;
});

/** The state store's connections carry this application_name, so a test can find and end them. */
const appName = (s: string) => `htl_state_${s}`;
const urlFor = (s: string) => `${BASE}?application_name=${appName(s)}&options=${encodeURIComponent(`-c search_path=${s}`)}`;

async function setup(options: { state: 'postgres' | 'duckdb'; rows: number; batchSize: number; concurrency?: number; sink?: SinkOptions }) {
  if (options.state === 'postgres') {
    schema = `htl_commit_${process.pid}_${++counter}`;
    await admin.query(`create schema ${schema}`);
  }
  sink = await startHttpSink(options.sink);
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
state: ${options.state === 'postgres' ? '{ type: postgres, url: "${STATE_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  api: { type: http, url: "\${SINK_URL}", concurrency: ${options.concurrency ?? 2} }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: ${options.batchSize}\n`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, ${options.rows + 1})`);
}

const env = (): Record<string, string> => ({ SINK_URL: sink!.url, ...(schema ? { STATE_URL: urlFor(schema) } : {}) });

/** Runs the CLI, remembering the child so that a hung run is killed after the test. */
function cli(args: string[]): Promise<CliResult> {
  const child = project.spawn(args, env());
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const run = async () => {
  const result = await cli(['run', 'users', '--json']);
  return { ...result, report: result.stdout ? JSON.parse(result.stdout)[0] : null };
};
const query = async (sqlText: string) => JSON.parse((await cli(['query', sqlText, '--json'])).stdout);

describe('text from destinations is stored sanitised', () => {
  it('stores a per-row error holding NUL and control characters in PostgreSQL state, capped at 1,000 characters', async () => {
    await setup({
      state: 'postgres',
      rows: 10,
      batchSize: 5,
      sink: { rejectMessage: (key) => `bad\u0000byte\u0007 in row ${key}\r\n${'x'.repeat(5000)}` },
    });
    sink!.rejectKeys(['2']);
    const { code, report, stderr } = await run();
    expect(code, stderr).toBe(2);
    expect(report).toMatchObject({ status: 'completed_with_errors', succeeded: 9, failed: 1 });
    const [failed] = await query('select error_message from failed_rows');
    const [logged] = await query(`select error_message from sync_changelog where status = 'failed'`);
    const stored = `bad\uFFFDbyte\uFFFD in row 2  ${'x'.repeat(1000 - 21)}…`;
    expect(failed.error_message).toBe(stored);
    expect(logged.error_message).toBe(stored);
    expect(stored).toHaveLength(1000);
  });

  it('stores a per-row error holding a lone surrogate in DuckDB state', async () => {
    await setup({ state: 'duckdb', rows: 10, batchSize: 5, sink: { rejectMessage: (key) => `row ${key}: \ud800 is half a character` } });
    sink!.rejectKeys(['7']);
    const { code, report, stderr } = await run();
    expect(code, stderr).toBe(2);
    expect(report).toMatchObject({ status: 'completed_with_errors', succeeded: 9, failed: 1 });
    expect(await query('select primary_key, error_message from failed_rows')).toEqual([
      { primary_key: '7', error_message: 'row 7: \uFFFD is half a character' },
    ]);
  });
});

describe('a failed state commit fails the run', () => {
  it('ends the run failed, with the reason, when the DuckDB state refuses a commit', async () => {
    // A destination id is kept as given (it addresses the record later), so one that cannot be
    // stored fails the commit; the run must stop with the reason instead of hanging or exiting 13.
    await setup({ state: 'duckdb', rows: 200, batchSize: 10, sink: { idFor: (key) => (key === '55' ? 'id-\ud800' : `id-${key}`) } });
    const { code, report, stderr } = await run();
    expect(code, stderr).toBe(1);
    expect(report).toMatchObject({ status: 'failed' });
    expect(report.error).toMatch(/^the state store refused a commit: /);
    expect(logEvents(stderr).find((e) => e.msg === 'run_failed')).toMatchObject({ error: report.error });
    const [runRow] = await query('select status, error from sync_runs');
    expect(runRow).toEqual({ status: 'failed', error: report.error });
  });

  it('says it lost the state connection when the backend is terminated mid-run, and re-sends only what was in flight', async () => {
    // More rows than a kill may re-send (send-window.ts: 16 batches of 250 here), so the bound below can fail.
    const rows = 6000;
    const batchSize = 250;
    const concurrency = 2;
    let terminated = false;
    await setup({
      state: 'postgres',
      rows,
      batchSize,
      concurrency,
      sink: {
        // Once 5 batches have arrived, end the state session before answering the 5th.
        beforeAnswer: async () => {
          if (terminated || sink!.received.length < 5) return;
          terminated = true;
          const ended = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [
            appName(schema!),
          ]);
          expect(ended.rows).toEqual([{ ok: true }]);
          // pg_terminate_backend only signals: wait until the backend is gone.
          while ((await admin.query('select 1 from pg_stat_activity where application_name = $1', [appName(schema!)])).rowCount) {
            await new Promise((r) => setImmediate(r));
          }
        },
      },
    });

    const first = await run();
    expect(terminated).toBe(true);
    expect(first.code, first.stderr).toBe(1);
    expect(first.report.status).toBe('failed');
    expect(first.report.error).toMatch(/^lost the connection to the state store/);
    expect(first.report.error).not.toContain('\n');
    expect(logEvents(first.stderr).find((e) => e.msg === 'run_failed')).toMatchObject({ error: first.report.error });
    const [runRow] = await query(`select run_id, status, error from sync_runs`);
    expect(runRow).toEqual({ run_id: first.report.run_id, status: 'failed', error: first.report.error });
    const firstSent = new Set(sink!.received.flatMap((r) => r.rows.map((row) => row.key)));
    const committed = new Set<string>(
      (await query(`select primary_key from sync_changelog where status = 'succeeded'`)).map((r: { primary_key: string }) => r.primary_key),
    );
    expect(firstSent.size).toBeLessThan(rows);

    const before = sink!.received.length;
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    const secondSent = sink!.received.slice(before).flatMap((r) => r.rows.map((row) => row.key));
    // Exactly the rows the first run did not commit, each once; of those, the ones it had sent are
    // at most the batches in flight plus those acknowledged but not committed.
    expect(new Set(secondSent).size).toBe(secondSent.length);
    expect(secondSent.length).toBe(rows - committed.size);
    expect(secondSent.filter((k) => committed.has(k))).toEqual([]);
    expect(maxUnsettledBatches(concurrency, batchSize) * batchSize).toBeLessThan(rows);
    expect(secondSent.filter((k) => firstSent.has(k)).length).toBeLessThanOrEqual(maxUnsettledBatches(concurrency, batchSize) * batchSize);
    expect(sink!.rows.size).toBe(rows);
  });
});
