/**
 * `serve` as a real process on a DuckDB state file: runs on trigger and at start, the CLI going through
 * its API while it holds the file, concurrent runs with their own plan tables, and SIGTERM mid-run
 * (exit 0; the next start finishes the work). Schedules themselves are tested with a virtual clock in
 * scheduler.test.ts; here time comes from log events and the sink's progress, never from a clock.
 */
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { closedPort } from './support/closed-port.js';

let project: TestProject;
const sinks: HttpSink[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const sink of sinks.splice(0)) await sink.close();
  await project?.remove();
});

async function sink(): Promise<HttpSink> {
  const s = await startHttpSink();
  sinks.push(s);
  return s;
}

type LogEvent = Record<string, unknown> & { msg: string };

interface Serve {
  child: ChildProcess;
  events: LogEvent[];
  port: number;
  /** Resolves once a logged event satisfies `match` (checked against every line so far, then each new one). */
  until(match: (event: LogEvent) => boolean, what: string): Promise<LogEvent>;
  api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
  exit: Promise<number | null>;
}

async function serve(env: Record<string, string>): Promise<Serve> {
  const child = project.spawn(['serve', '--port', '0'], env);
  children.push(child);
  const events: LogEvent[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  let buffer = '';
  child.stdout!.resume();
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let exited = false;
  void exit.then(() => {
    exited = true;
    for (const wake of waiters.splice(0)) wake();
  });
  const until = async (match: (event: LogEvent) => boolean, what: string) => {
    for (;;) {
      const found = events.find(match);
      if (found) return found;
      if (exited) throw new Error(`serve exited before ${what}: ${stderr}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const listening = await until((e) => e.msg === 'service_listening', 'it listened');
  const port = listening.port as number;
  const api: Serve['api'] = async (method, path, body) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, text };
  };
  return { child, events, port, until, api, exit };
}

const finished = (sync: string, nth = 1) => {
  let seen = 0;
  return (e: LogEvent) => e.msg === 'schedule_finished' && e.sync === sync && ++seen === nth;
};

/** Edits the state file directly, as a crash or an old run would have left it (no service may hold it). */
async function editState(sqlText: string): Promise<void> {
  const instance = await DuckDBInstance.create(join(project.dir, '.hightouch-like', 'state.duckdb'));
  const connection = await instance.connect();
  try {
    await connection.run(sqlText);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const config = (extra = '') =>
  'warehouse: { type: duckdb, path: warehouse.duckdb }\n' +
  'scheduler: { max_parallel: 2 }\n' +
  'destinations:\n' +
  '  api: { type: http, url: "${SINK_URL}", concurrency: 2 }\n' +
  '  big_api: { type: http, url: "${BIG_URL}", concurrency: 2 }\n' +
  '  down: { type: http, url: "http://127.0.0.1:${DOWN_PORT}/rows" }\n' +
  extra;

// A hang guard, not a timing: each test starts two or three node processes with DuckDB on a loaded machine.
describe('serve', { timeout: 240_000 }, () => {
  it('runs on trigger, records a failed run for an unreachable destination each time, answers the CLI, and a SIGTERM mid-run exits 0 with nothing lost', async () => {
    const good = await sink();
    const big = await sink();
    project = await createProject({
      'hightouch-like.config.yaml': config(),
      'models/users.sql': 'select * from users',
      'syncs/good.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\n',
      'syncs/bad.yaml': 'model: users\ndestination: down\nprimary_key: id\nmapping: { email: email }\n',
      'syncs/big.yaml': 'model: users\ndestination: big_api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(400)`);
    const env = { SINK_URL: good.url, BIG_URL: big.url, DOWN_PORT: String(await closedPort()) };

    const service = await serve(env);
    expect((await service.api('POST', '/api/syncs/good/trigger')).status).toBe(202);
    expect((await service.api('POST', '/api/syncs/bad/trigger')).body).toMatchObject({ sync: 'bad' });
    expect((await service.api('POST', '/api/syncs/nope/trigger')).status).toBe(404);
    await service.until(finished('good'), 'good finished');
    await service.until(finished('bad'), 'bad finished');
    expect(good.rows.size).toBe(400);

    // The CLI answers through the service, which holds the DuckDB file.
    const status = await project.cli(['status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const bySync = Object.fromEntries(JSON.parse(status.stdout).map((s: any) => [s.sync, s]));
    expect(bySync.good).toMatchObject({ last_status: 'succeeded', synced_rows: 400, running: false });
    expect(bySync.bad.last_status).toBe('failed');
    expect(bySync.bad.last_error).toMatch(/destination "down" \(http\) is not usable/);

    // A second trigger of the bad sync, from `run`: a second failed run.
    const run = await project.cli(['run', 'bad'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^bad: (started|waiting) by the service/);
    await service.until(finished('bad', 2), 'the second bad run finished');
    const query = await project.cli(
      ['query', "select status, count(*)::int as n from sync_runs where sync_name = 'bad' group by 1", '--json'],
      env,
    );
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([{ status: 'failed', n: 2 }]);
    const refused = await project.cli(['query', 'delete from sync_runs'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*only one read-only query is allowed \(got DELETE\)/);
    const plan = await project.cli(['plan', 'good'], env);
    expect(plan.code).toBe(1);
    expect(plan.stderr.trim().split('\n')).toHaveLength(1);
    expect(plan.stderr).toMatch(/holds the DuckDB state file, which plan needs/);

    // A page on another site can neither trigger a run (a simple cross-site POST) nor rebind a name to us.
    const crossSite = await fetch(`http://127.0.0.1:${service.port}/api/syncs/good/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '',
    });
    expect(crossSite.status).toBe(415);
    // fetch sets Host itself; node:http sends the name a rebound DNS entry would.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: service.port, path: '/api/syncs', headers: { host: 'attacker.example:80' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(403);

    const health = await service.api('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', running: [] });
    const metrics = await service.api('GET', '/metrics');
    expect(metrics.text).toContain('hightouch_like_runs_total{sync="good",status="succeeded"} 1');
    expect(metrics.text).toContain('hightouch_like_runs_total{sync="bad",status="failed"} 2');
    expect(metrics.text).toContain('hightouch_like_rows_total{sync="good",outcome="succeeded"} 400');
    expect(metrics.text).toContain('hightouch_like_api_calls_total{sync="good"} 4');
    expect(metrics.text).toContain('hightouch_like_run_duration_seconds_count{sync="good"} 1');
    expect(metrics.text).toContain('hightouch_like_failed_rows{sync="good"} 0');
    const runs = await service.api('GET', '/api/runs?sync=bad&limit=1');
    expect(runs.body).toHaveLength(1);
    expect(runs.body[0]).toMatchObject({ sync_name: 'bad', status: 'failed' });

    // SIGTERM while two batches of `big` are on the wire: they finish and commit, serve exits 0.
    big.holdAfter(30);
    await service.api('POST', '/api/syncs/big/trigger');
    await big.until(() => big.held === 2);
    service.child.kill('SIGTERM');
    big.release();
    expect(await service.exit).toBe(0);
    const acknowledged = big.rows.size;
    expect(acknowledged).toBeLessThan(400);
    const afterStop = await project.cli(
      ['query', "select status, rows_succeeded::int as n from sync_runs where sync_name = 'big'", '--json'],
      env,
    );
    expect(JSON.parse(afterStop.stdout)).toEqual([{ status: 'cancelled', n: acknowledged }]);

    // The next start runs the cancelled sync again, which sends only the rest.
    const again = await serve(env);
    const resumed = await again.until(finished('big'), 'big ran again at start');
    expect(resumed.reason).toBe('missed');
    expect(big.rows.size).toBe(400);
    const finishedEvent = again.events.find((e) => e.msg === 'run_finished' && e.sync === 'big')!;
    expect(finishedEvent).toMatchObject({ status: 'succeeded', sent: 400 - acknowledged });
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  });

  it('runs two syncs at once with max_parallel 2, each on its own plan', async () => {
    const first = await sink();
    const second = await sink();
    project = await createProject({
      'hightouch-like.config.yaml': config(),
      'models/a.sql': "select range as id, 'a' || range as v from range(300)",
      'models/b.sql': "select range + 1000 as id, 'b' || range as v from range(70)",
      'syncs/a.yaml': 'model: a\ndestination: api\nprimary_key: id\nmapping: { v: v }\nbatch_size: 10\n',
      'syncs/b.yaml': 'model: b\ndestination: big_api\nprimary_key: id\nmapping: { v: v }\nbatch_size: 10\n',
    });
    await project.warehouse('select 1');
    const env = { SINK_URL: first.url, BIG_URL: second.url, DOWN_PORT: '9' };
    const service = await serve(env);
    // `a` cannot finish while its answers are held; `b` runs and finishes meanwhile.
    first.holdAfter(20);
    await service.api('POST', '/api/syncs/a/trigger');
    await first.until(() => first.held === 2);
    await service.api('POST', '/api/syncs/b/trigger');
    await service.until(finished('b'), 'b finished while a was held');
    expect(service.events.some(finished('a'))).toBe(false);
    first.release();
    await service.until(finished('a'), 'a finished');
    const reports = service.events.filter((e) => e.msg === 'run_finished');
    expect(reports.map((r) => [r.sync, r.status, r.sent])).toEqual([
      ['b', 'succeeded', 70],
      ['a', 'succeeded', 300],
    ]);
    expect([...first.rows.keys()].every((k) => Number(k) < 1000)).toBe(true);
    expect(first.rows.size).toBe(300);
    expect([...second.rows.keys()].every((k) => Number(k) >= 1000)).toBe(true);
    expect(second.rows.size).toBe(70);
    service.child.kill('SIGTERM');
    expect(await service.exit).toBe(0);
  });

  it('at start runs a sync that missed a slot, and marks a run a crash left running failed and runs its sync again', async () => {
    const out = await sink();
    project = await createProject({
      'hightouch-like.config.yaml': config(),
      'models/users.sql': 'select * from users',
      'syncs/daily.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 1d }\n',
      'syncs/crashed.yaml': 'model: users\ndestination: big_api\nprimary_key: id\nmapping: { email: email }\n',
      'syncs/idle.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { n: id }\nschedule: { every: 1d }\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(5)`);
    const env = { SINK_URL: out.url, BIG_URL: out.url, DOWN_PORT: '9' };
    expect((await project.cli(['run', 'daily', 'crashed', 'idle'], env)).code).toBe(0);
    await project.warehouse(`insert into users values (5, 'u5@x.io')`);
    // `daily` last started years ago (slots passed since); `crashed` was killed mid-run; `idle` ran just now.
    await editState(`update sync_runs set started_at = '2020-01-01T00:00:00.000Z' where sync_name = 'daily'`);
    await editState(`update sync_runs set status = 'running', finished_at = null where sync_name = 'crashed'`);

    const service = await serve(env);
    const daily = await service.until(finished('daily'), 'daily ran at start');
    const crashed = await service.until(finished('crashed'), 'crashed ran at start');
    expect([daily.reason, crashed.reason]).toEqual(['missed', 'missed']);
    expect(service.events.find((e) => e.msg === 'schedule_due' && e.sync === 'daily')).toMatchObject({
      missed: true,
      slot: '2020-01-02T00:00:00.000Z',
    });
    const runs = await service.api('GET', '/api/runs?sync=crashed');
    expect(runs.body.map((r: any) => r.status)).toEqual(['succeeded', 'failed']);
    expect(runs.body[1].error).toMatch(/^interrupted/);
    const syncs = (await service.api('GET', '/api/syncs')).body;
    const idle = syncs.find((s: any) => s.sync === 'idle');
    expect(idle.last_status).toBe('succeeded');
    expect(service.events.some((e) => e.msg === 'schedule_started' && e.sync === 'idle')).toBe(false);
    expect(Date.parse(idle.next_run_at)).toBeGreaterThan(Date.now());
    service.child.kill('SIGTERM');
    expect(await service.exit).toBe(0);
  });

  it('refuses a non-loopback address without a token, with one line', async () => {
    project = await createProject({
      'hightouch-like.config.yaml': 'service: { host: 0.0.0.0 }\n',
    });
    const result = await project.cli(['serve']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: hightouch-like\.config\.yaml:1: service\.host: 0\.0\.0\.0 is not a loopback address, and service\.token is not set/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
