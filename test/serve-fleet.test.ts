/**
 * Three `serve` processes on one PostgreSQL state store share the runs through pg-boss: simultaneous
 * triggers make one run and one follow-up, never two at once; a slot all three see at start runs once;
 * and a process killed mid-run has its sync taken over by another, nothing lost. Time comes from log
 * events and the sink's progress; only the takeover waits for pg-boss's expiry, and is measured.
 */
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { takeoverTiming } from '../core/service/fleet.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

const BASE = 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client(BASE);
let counter = 0;
let stateSchema = '';
let queueSchema = '';
let project: TestProject | undefined;
let sink: HttpSink | undefined;
const children: ChildProcess[] = [];
const started: Serve[] = [];

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});
afterEach(async (context) => {
  // The processes' own account, for a failure's diagnosis (progress lines left out).
  if (context.task.result?.state === 'fail') {
    for (const s of started.splice(0))
      console.log(`serve pid ${s.child.pid}:`, JSON.stringify(s.events.filter((e) => e.msg !== 'progress')));
  }
  started.length = 0;
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await sink?.close();
  sink = undefined;
  await project?.remove();
  project = undefined;
  for (const schema of [stateSchema, queueSchema]) if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
});

type LogEvent = Record<string, unknown> & { msg: string };

interface Serve {
  child: ChildProcess;
  events: LogEvent[];
  exited: boolean;
  /** Lines that are not JSON events: a crash's stack. */
  other: string[];
  api(path: string): Promise<{ status: number; body: any }>;
}

/** Wakes every waiter whenever any process logs a line or exits. */
const waiters: Array<() => void> = [];
const wakeAll = () => {
  for (const wake of waiters.splice(0)) wake();
};

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((r) => waiters.push(r));
}

async function serve(env: Record<string, string>): Promise<Serve> {
  const child = project!.spawn(['serve', '--port', '0'], env);
  children.push(child);
  const process: Serve = { child, events: [], exited: false, other: [], api: async () => ({ status: 0, body: null }) };
  let stderr = '';
  let buffer = '';
  child.stdout!.resume();
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('{')) process.events.push(JSON.parse(line));
      else process.other.push(line);
    }
    wakeAll();
  });
  child.on('close', () => {
    process.exited = true;
    wakeAll();
  });
  await until(() => process.exited || process.events.some((e) => e.msg === 'service_listening'));
  if (process.exited) throw new Error(`serve exited before it listened: ${stderr}`);
  started.push(process);
  const port = process.events.find((e) => e.msg === 'service_listening')!.port as number;
  process.api = async (path) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return { status: response.status, body: await response.json() };
  };
  return process;
}

const count = (fleet: Serve[], msg: string, extra: (e: LogEvent) => boolean = () => true) =>
  fleet.reduce((n, s) => n + s.events.filter((e) => e.msg === msg && extra(e)).length, 0);

/** A project whose one sync sends 400 rows, 10 a request, one request at a time, so a held answer stops it. */
async function setUp(takeoverSeconds: number, schedule = 'manual'): Promise<Record<string, string>> {
  const id = `${process.pid}_${++counter}`;
  stateSchema = `htl_fleet_${id}`;
  queueSchema = `htl_queue_${id}`;
  await admin.query(`create schema ${stateSchema}`);
  sink = await startHttpSink();
  project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\n' +
      'state: { type: postgres, url: "${STATE_URL}" }\n' +
      `scheduler: { max_parallel: 2, takeover_seconds: ${takeoverSeconds}, queue_schema: ${queueSchema} }\n` +
      'destinations:\n' +
      '  api: { type: http, url: "${SINK_URL}", concurrency: 1 }\n',
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\nschedule: ${schedule}\n`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(400)`);
  return { SINK_URL: sink.url, STATE_URL: `${BASE}?options=${encodeURIComponent(`-c search_path=${stateSchema}`)}` };
}

async function syncRuns(): Promise<Array<{ status: string; started_at: Date; finished_at: Date | null }>> {
  const result = await admin.query(`select status, started_at, finished_at from ${stateSchema}.sync_runs order by started_at`);
  return result.rows;
}

/** Jobs not yet done: once none is left, no further run can start. */
async function pendingJobs(): Promise<number> {
  const result = await admin.query(`select count(*)::int as n from ${queueSchema}.job where state in ('created', 'retry', 'active')`);
  return result.rows[0].n;
}

/**
 * pg-boss marks a job completed just after its handler returned (after `job_finished`): waits for that,
 * re-reading the queue each time a process logs a line, or every 200 ms at most.
 */
async function noJobLeft(): Promise<void> {
  while ((await pendingJobs()) > 0)
    await new Promise<void>((r) => {
      waiters.push(r);
      setTimeout(r, 200);
    });
}

function expectNoOverlap(runs: Array<{ started_at: Date; finished_at: Date | null }>): void {
  for (let i = 1; i < runs.length; i++) expect(runs[i].started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1].finished_at!.getTime());
}

// A hang guard, not a timing: each test starts three node processes on a loaded machine.
describe('serve fleet on PostgreSQL state', { timeout: 240_000 }, () => {
  it('a trigger sent to each of three processes at once while the sync runs queues exactly one follow-up; never two runs at once', async () => {
    // Jobs expire after 10 minutes: on a loaded machine the held run must not outlive its job here (what
    // an expiry does is the next test's subject).
    const env = await setUp(600);
    const fleet = [await serve(env), await serve(env), await serve(env)];
    sink!.holdAfter(50);
    expect((await fleet[0].api('/api/syncs/users/trigger')).status).toBe(202);
    await until(() => sink!.held > 0);
    const answers = await Promise.all(fleet.map((s) => s.api('/api/syncs/users/trigger')));
    // The running job holds the queue's active place; one waits; the others meet the stately policy.
    expect(answers.map((a) => a.body.outcome).sort()).toEqual(['coalesced', 'coalesced', 'queued']);
    sink!.release();
    await until(() => count(fleet, 'job_finished') >= 2);
    await noJobLeft();
    const runs = await syncRuns();
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expectNoOverlap(runs);
    // One request in flight at a time over the whole fleet: the runs never overlapped at the sink either.
    expect(sink!.maxInFlight).toBe(1);
    expect(sink!.rows.size).toBe(400);
    expect(fleet.filter((s) => s.exited)).toEqual([]);
  });

  it("a run that outlives its job's expiry is not run again by the retried job", async () => {
    // Expiry after 2 s, supervised every second: a run held at the sink expires while it goes on.
    const env = await setUp(2);
    const fleet = [await serve(env), await serve(env)];
    sink!.holdAfter(50);
    expect((await fleet[0].api('/api/syncs/users/trigger')).status).toBe(202);
    await until(() => sink!.held > 0);
    // pg-boss has expired the job and handed its retry to a process, which the sync's lock refused.
    await until(() => count(fleet, 'run_refused') >= 1);
    sink!.release();
    await until(() => count(fleet, 'job_already_answered') >= 1);
    await noJobLeft();
    const runs = await syncRuns();
    expect(runs.map((r) => r.status)).toEqual(['succeeded']);
    expect(count(fleet, 'job_finished')).toBe(1);
    expect(sink!.rows.size).toBe(400);
  });

  it('a slot all three processes see missed at start runs once', async () => {
    // Slots every 365 days since the epoch: none comes during the test, and a 2020 run missed several.
    const env = await setUp(600, '{ every: 365d }');
    expect((await project!.cli(['run', 'users'], env)).code).toBe(0);
    await admin.query(`update ${stateSchema}.sync_runs set started_at = '2020-01-01T00:00:00Z', finished_at = '2020-01-01T00:01:00Z'`);
    // A run that started would hide the missed slot from a process starting after it: holding writes to
    // sync_runs (reads go on) until all three have decided makes all three see the slot due.
    const locker = new pg.Client(BASE);
    await locker.connect();
    try {
      await locker.query(`begin; lock table ${stateSchema}.sync_runs in exclusive mode`);
      const fleet = await Promise.all([serve(env), serve(env), serve(env)]);
      await until(() => count(fleet, 'schedule_enqueued') + count(fleet, 'schedule_claimed_elsewhere') >= 3);
      expect(count(fleet, 'schedule_due', (e) => e.missed === true)).toBe(3);
      await locker.query('commit');
      await until(() => count(fleet, 'job_finished') >= 1);
      await noJobLeft();
      expect(count(fleet, 'schedule_enqueued')).toBe(1);
      expect(count(fleet, 'schedule_claimed_elsewhere')).toBe(2);
      expect(count(fleet, 'job_started')).toBe(1);
      // The 2020 run itself is gone: retention (30 days by default) pruned it after the new run.
      const runs = await syncRuns();
      expect(runs.map((r) => r.status)).toEqual(['succeeded']);
      expect(runs[0].started_at.getUTCFullYear()).toBeGreaterThan(2020);
    } finally {
      await locker.end();
    }
  });

  it('a process killed mid-run has its sync taken over by another within the documented time, no row lost', async () => {
    const takeoverSeconds = 5;
    const env = await setUp(takeoverSeconds);
    const fleet = [await serve(env), await serve(env), await serve(env)];
    sink!.holdAfter(100);
    expect((await fleet[0].api('/api/syncs/users/trigger')).status).toBe(202);
    await until(() => sink!.held > 0);
    // The process whose run holds the sync's lock: `job_started` alone is not it, since on a loaded
    // machine the job can expire and its retry start (and be refused) in another process first.
    const running = (s: Serve) => s.events.some((e) => e.msg === 'run_started');
    await until(() => fleet.some(running));
    const victim = fleet.find(running)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until(() => victim.exited);
    sink!.release();
    const others = fleet.filter((s) => s !== victim);
    await until(() => count(others, 'job_started') >= 1);
    const takeoverMs = Date.now() - killedAt;
    const documented = takeoverTiming(takeoverSeconds).worstCaseSeconds;
    console.log(`takeover after SIGKILL: ${takeoverMs} ms (documented worst case ${documented} s)`);
    // pg-boss fails the job only once it has expired; the generous slack is for a loaded machine.
    expect(takeoverMs).toBeLessThanOrEqual((documented + 15) * 1000);
    await until(() => count(others, 'job_finished', (e) => e.status === 'succeeded') >= 1);
    expect(sink!.rows.size).toBe(400);
    const runs = await syncRuns();
    // The killed run, closed as interrupted by the run that took over under the sync's lock.
    expect(runs[0].status).toBe('failed');
    expect(runs.at(-1)!.status).toBe('succeeded');
  });
});
