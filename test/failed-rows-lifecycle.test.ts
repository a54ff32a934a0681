/**
 * What happens to a failed row over time (issue 10): the every-run default, between-run backoff, the
 * HubSpot cadence and cap with its nightly timeout queue, blocked rows, new changes before retries, the
 * bound on API calls for a receiver that refuses everything, and retention. Runs go through the
 * programmatic API with a virtual clock (no test waits for time), against a real HTTP receiver on
 * loopback, a real DuckDB warehouse and state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { RunController, loadProject, type RunResult } from '../core/api.js';
import { openStateStore } from '../core/state/state-store.js';
import { splitBudget } from '../core/execute/deliver-batch.js';
import { startHttpSink, type HttpSink, type SinkOptions } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { VirtualClock } from './support/virtual-clock.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const admin = usePgAdmin();
let schema: string | undefined;

let project: TestProject | undefined;
let sink: HttpSink | undefined;
let controller: RunController | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
  await project?.remove();
  project = undefined;
  await sink?.close();
  sink = undefined;
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  schema = undefined;
});

interface Setup {
  rows: number;
  batchSize?: number;
  policy?: string;
  sink?: SinkOptions;
  mapping?: string;
  /** A PostgreSQL schema for the state store, instead of the DuckDB file. */
  pgSchema?: string;
}

async function setup(options: Setup) {
  sink = await startHttpSink(options.sink);
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
${options.pgSchema ? `state: { type: postgres, url: "${PG_BASE}?options=${encodeURIComponent(`-c search_path=${options.pgSchema}`)}" }` : ''}
destinations:
  api: { type: http, url: "\${SINK_URL}", concurrency: 1 }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': syncFile(options),
  });
  await project.warehouse(
    `create table users as select range as id, 'u' || range || '@x.io' as email, 'n' || range as name from range(1, ${options.rows + 1})`,
  );
  controller = new RunController();
}

function syncFile(options: Setup): string {
  return `model: users
destination: api
primary_key: id
mapping: ${options.mapping ?? '{ email: email }'}
batch_size: ${options.batchSize ?? 10}
retry: { attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }
${options.policy ?? ''}
`;
}

async function run(clock: VirtualClock): Promise<RunResult & { calls: number; sentKeys: string[] }> {
  const before = sink!.received.length;
  const config = await loadProject(project!.dir, { SINK_URL: sink!.url });
  const result = await controller!.run(config, { syncs: ['users'], clock });
  const requests = sink!.received.slice(before);
  return { ...result, calls: requests.length, sentKeys: requests.flatMap((r) => r.rows.map((row) => row.key)) };
}

async function state<T = Record<string, unknown>>(text: string): Promise<T[]> {
  const config = await loadProject(project!.dir, { SINK_URL: sink!.url });
  const store = await openStateStore(config, { readOnly: true });
  try {
    const rows = (await sql.raw(text).execute(store.db as unknown as Kysely<any>)).rows as Record<string, unknown>[];
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))) as T[];
  } finally {
    await store.close();
  }
}

const failedRow = async (key: string) =>
  (
    await state<{ status: string; attempts: number; tries: number; next_retry_at: string | null; error_code: string }>(
      `select status, attempts, tries, cast(next_retry_at as varchar) as next_retry_at, error_code from failed_rows where primary_key = '${key}'`,
    )
  )[0];

/** A timestamptz read back as text, as an instant. */
const instant = (text: string) => new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z')).getTime();

describe('retry policies across runs', { timeout: 240_000 }, () => {
  it('by default retries a failed row on every later run, due at its failure time', async () => {
    await setup({ rows: 3 });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2']);
    expect((await run(clock)).reports[0]).toMatchObject({ failed: 1, succeeded: 2 });
    const first = await failedRow('2');
    expect(first).toMatchObject({ status: 'retrying', tries: 1, error_code: 'HTTP_ROW_REJECTED' });
    expect(instant(first.next_retry_at!)).toBe(instant('2030-01-01T10:00:00Z'));

    await clock.advanceBy(60_000);
    const second = await run(clock);
    expect(second.sentKeys).toEqual(['2']);
    expect(await failedRow('2')).toMatchObject({ status: 'retrying', tries: 2, attempts: 2 });

    sink!.rejectKeys([]);
    await clock.advanceBy(60_000);
    expect((await run(clock)).sentKeys).toEqual(['2']);
    expect(await state('select * from failed_rows')).toEqual([]);
  });

  it('waits a full-jitter exponential backoff between a row’s tries', async () => {
    await setup({ rows: 20, policy: 'failed_rows: { backoff: { base: 10m, max: 15m } }' });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    const t0 = clock.now().getTime();
    sink!.rejectKeys(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    await run(clock);
    const waits = (await state<{ next: string }>(`select cast(next_retry_at as varchar) as next from failed_rows`)).map(
      (r) => instant(r.next) - t0,
    );
    expect(waits).toHaveLength(20);
    // random(0, 10m): within the ceiling, and spread (full jitter), not all one value.
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(600_000);
    }
    expect(new Set(waits).size).toBeGreaterThan(10);

    // A run before a row is due sends none of the rows not due; one after every wait sends them all.
    const earliest = Math.min(...waits);
    const latest = Math.max(...waits);
    await clock.advanceTo(new Date(t0 + Math.floor((earliest + latest) / 2)));
    const middle = await run(clock);
    const due = waits.filter((w) => w <= Math.floor((earliest + latest) / 2)).length;
    expect(middle.sentKeys).toHaveLength(due);
    expect(middle.reports[0].plan).toMatchObject({ waiting: 20 - due, planned: due });

    // The second wait's ceiling doubles to 20m, capped at 15m by max.
    const t1 = clock.now().getTime();
    const second = await state<{ next: string; tries: number }>(
      `select cast(next_retry_at as varchar) as next, tries from failed_rows where tries = 2`,
    );
    expect(second).toHaveLength(due);
    for (const r of second) expect(instant(r.next) - t1).toBeLessThanOrEqual(900_000);
  });

  it('HubSpot: tries a row at most every 20 minutes, 10 times, then retries it with the timeout queue at 00:00 UTC', async () => {
    await setup({
      rows: 3,
      policy: `failed_rows:
  min_interval: 20m
  max_tries: 10
  timeout_queue: { cron: "0 0 * * *" }`,
    });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2']);
    await run(clock);
    expect(await failedRow('2')).toMatchObject({ status: 'retrying', tries: 1, next_retry_at: expect.stringContaining('10:20:00') });

    // Runs every 5 minutes: only the one 20 minutes later sends the row.
    for (const minute of [5, 10, 15]) {
      await clock.advanceTo(`2030-01-01T10:${minute.toString().padStart(2, '0')}:00Z`);
      const quiet = await run(clock);
      expect(quiet.calls).toBe(0);
      expect(quiet.reports[0].plan).toMatchObject({ waiting: 1, planned: 0 });
    }
    for (let tries = 2; tries <= 10; tries++) {
      await clock.advanceTo(new Date(Date.parse('2030-01-01T10:00:00Z') + (tries - 1) * 20 * 60_000));
      expect((await run(clock)).sentKeys).toEqual(['2']);
      expect((await failedRow('2')).tries).toBe(tries);
    }
    // The tenth try moved it to the timeout queue, due at midnight.
    expect(await failedRow('2')).toMatchObject({
      status: 'timeout_queue',
      tries: 10,
      next_retry_at: expect.stringContaining('2030-01-02 00:00:00'),
    });
    await clock.advanceTo('2030-01-01T23:59:00Z');
    expect((await run(clock)).calls).toBe(0);

    sink!.rejectKeys([]);
    await clock.advanceTo('2030-01-02T00:00:00Z');
    const nightly = await run(clock);
    expect(nightly.sentKeys).toEqual(['2']);
    expect(nightly.reports[0]).toMatchObject({ status: 'succeeded', succeeded: 1 });
    expect(await state('select * from failed_rows')).toEqual([]);
    expect(sink!.rows.get('2')).toEqual({ email: 'u2@x.io' });
  });

  it('sends new changes before retries', async () => {
    await setup({ rows: 4, batchSize: 1 });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['1', '2']);
    await run(clock);
    sink!.rejectKeys([]);
    // 1 changed since it failed: a new change. 2 is a retry. 5 is new.
    await project!.warehouse(`update users set email = 'new1@x.io' where id = 1; insert into users values (5, 'u5@x.io', 'n5')`);
    await clock.advanceBy(60_000);
    const next = await run(clock);
    expect(next.sentKeys).toEqual(['1', '5', '2']);
  });
});

describe('blocked rows', { timeout: 240_000 }, () => {
  const codes: Record<string, string> = { '2': 'VALUE_TOO_LONG', '3': 'LOCKED' };

  it('skips a blocked row at no API call until its value or the mapping changes; a lock never blocks', async () => {
    await setup({ rows: 4, sink: { codeFor: (key) => codes[key] } });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2', '3']);
    const first = await run(clock);
    expect(first.reports[0]).toMatchObject({ failed: 2, succeeded: 2 });
    expect(await failedRow('2')).toMatchObject({ status: 'blocked', error_code: 'VALUE_TOO_LONG', next_retry_at: null });
    // LOCKED is transient: retried in the run (2 attempts), then left retrying, never blocked.
    expect(await failedRow('3')).toMatchObject({ status: 'retrying', error_code: 'LOCKED' });
    const stored = await state(`select remediation, row_hash is not null as has_hash from failed_rows where primary_key = '2'`);
    expect(stored).toEqual([{ remediation: expect.stringContaining('shorten it in the model'), has_hash: true }]);

    await clock.advanceBy(3_600_000);
    sink!.rejectKeys(['2']);
    const second = await run(clock);
    // Only the locked row goes out; the blocked one costs nothing.
    expect(second.sentKeys).toEqual(['3']);
    expect(second.reports[0].plan).toMatchObject({ blocked: 1, planned: 1 });
    await clock.advanceBy(3_600_000);
    const third = await run(clock);
    expect(third.calls).toBe(0);
    expect(third.reports[0].plan).toMatchObject({ blocked: 1, planned: 0 });

    // Its value changes: sent again (and blocked again with the new values, since the sink still refuses).
    await project!.warehouse(`update users set email = 'short2@x.io' where id = 2`);
    await clock.advanceBy(3_600_000);
    expect((await run(clock)).sentKeys).toEqual(['2']);
    expect(await failedRow('2')).toMatchObject({ status: 'blocked', attempts: 2 });
    await clock.advanceBy(3_600_000);
    expect((await run(clock)).calls).toBe(0);

    // The mapping changes: every row is sent again, the blocked one included, and it lands.
    sink!.rejectKeys([]);
    await project!.write('syncs/users.yaml', syncFile({ rows: 4, mapping: '{ email: email, name: name }' }));
    await clock.advanceBy(3_600_000);
    const remapped = await run(clock);
    expect(remapped.sentKeys.sort()).toEqual(['1', '2', '3', '4']);
    expect(await state('select * from failed_rows')).toEqual([]);
    expect(sink!.rows.get('2')).toEqual({ email: 'short2@x.io', name: 'n2' });
  });

  it('with block: false a blocking error keeps the retry policy', async () => {
    await setup({ rows: 2, policy: 'failed_rows: { block: false }', sink: { codeFor: (key) => codes[key] } });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2']);
    await run(clock);
    expect(await failedRow('2')).toMatchObject({ status: 'retrying', error_code: 'VALUE_TOO_LONG' });
    await clock.advanceBy(60_000);
    expect((await run(clock)).sentKeys).toEqual(['2']);
  });
});

describe('a receiver that refuses every row', { timeout: 240_000 }, () => {
  it('per row: one call per batch, then none once the rows are blocked', async () => {
    await setup({ rows: 1000, batchSize: 100, sink: { codeFor: () => 'INVALID_VALUE' } });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(Array.from({ length: 1000 }, (_, i) => String(i + 1)));
    expect((await run(clock)).calls).toBe(10);
    await clock.advanceBy(300_000);
    expect((await run(clock)).calls).toBe(0);
  });

  it('whole batches: at most 1 + 6·⌈log2 n⌉ calls per batch of n, fewer each run as isolated rows are blocked', async () => {
    await setup({ rows: 1000, batchSize: 100, sink: { wholeBatch: true, wholeBatchStatus: 422 } });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(Array.from({ length: 1000 }, (_, i) => String(i + 1)));
    const bound = 10 * (1 + splitBudget(100));
    expect(bound).toBe(430);
    const first = await run(clock);
    // Splitting every batch down to single rows cost 1,990 calls.
    expect(first.calls).toBeLessThanOrEqual(bound);
    const blocked = await state<{ status: string; n: number }>(`select status, count(*)::int as n from failed_rows group by 1 order by 1`);
    expect(blocked.map((b) => b.status)).toEqual(['blocked', 'retrying']);
    const blockedFirst = blocked[0].n;
    expect(blockedFirst).toBeGreaterThan(0);
    // Rows never tried alone are not blocked: they fail with the batch's code and are retried.
    const unsplit = await state<{ message: string }>(`select error_message as message from failed_rows where status = 'retrying' limit 1`);
    expect(unsplit[0].message).toContain('not tried alone');

    await clock.advanceBy(300_000);
    const second = await run(clock);
    expect(second.calls).toBeLessThanOrEqual(bound);
    expect(new Set(second.sentKeys).size).toBe(1000 - blockedFirst);
    const after = await state<{ n: number }>(`select count(*)::int as n from failed_rows where status = 'blocked'`);
    expect(after[0].n).toBeGreaterThan(blockedFirst);
  });
});

describe('on PostgreSQL state', { timeout: 240_000 }, () => {
  it('keeps the cadence, the cap, the timeout queue and the blocks', async () => {
    schema = `htl_frl_${process.pid}`;
    await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    await setup({
      rows: 4,
      pgSchema: schema,
      sink: { codeFor: (key) => (key === '2' ? 'VALUE_TOO_LONG' : undefined) },
      // The backoff's ceiling (2m) stays under the cadence, so every wait is exactly 20 minutes.
      policy: 'failed_rows: { min_interval: 20m, backoff: { base: 1m, max: 2m }, max_tries: 2, timeout_queue: "0 0 * * *" }',
    });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2', '3']);
    await run(clock);
    const rows = async () =>
      (await admin.query(`select primary_key, status, tries, next_retry_at from ${schema}.failed_rows order by primary_key`)).rows.map(
        (r) => [r.primary_key, r.status, r.tries, r.next_retry_at?.toISOString() ?? null],
      );
    expect(await rows()).toEqual([
      ['2', 'blocked', 1, null],
      ['3', 'retrying', 1, '2030-01-01T10:20:00.000Z'],
    ]);
    await clock.advanceTo('2030-01-01T10:05:00Z');
    expect((await run(clock)).calls).toBe(0);
    await clock.advanceTo('2030-01-01T10:20:00Z');
    expect((await run(clock)).sentKeys).toEqual(['3']);
    expect(await rows()).toEqual([
      ['2', 'blocked', 1, null],
      ['3', 'timeout_queue', 2, '2030-01-02T00:00:00.000Z'],
    ]);
    sink!.rejectKeys([]);
    await clock.advanceTo('2030-01-02T00:00:00Z');
    expect((await run(clock)).sentKeys).toEqual(['3']);
    await project!.warehouse(`update users set email = 'ok2@x.io' where id = 2`);
    await clock.advanceTo('2030-01-02T01:00:00Z');
    expect((await run(clock)).sentKeys).toEqual(['2']);
    expect(await rows()).toEqual([]);
  });
});

describe('retention', { timeout: 120_000 }, () => {
  it('prunes sync_changelog and sync_runs past the retention after a run, never failed_rows', async () => {
    await setup({ rows: 3, policy: 'retention: 7d' });
    const clock = new VirtualClock('2030-01-01T10:00:00Z');
    sink!.rejectKeys(['2']);
    await run(clock);
    sink!.rejectKeys(['1', '2', '3']);
    await project!.warehouse(`update users set email = 'b' || id || '@x.io'`);
    await clock.advanceTo('2030-01-05T10:00:00Z');
    await run(clock);
    expect(await state(`select count(*)::int as n from sync_runs`)).toEqual([{ n: 2 }]);

    await clock.advanceTo('2030-01-10T10:00:00Z');
    const third = await run(clock);
    // The first run (9 days ago) and its changelog are gone; the second (5 days) stays.
    const runs = await state<{ started: string }>(`select cast(started_at as varchar) as started from sync_runs order by 1`);
    expect(runs.map((r) => r.started.slice(0, 10))).toEqual(['2030-01-05', '2030-01-10']);
    const changelog = await state<{ day: string; n: number }>(
      `select cast(cast("at" as date) as varchar) as day, count(*)::int as n from sync_changelog group by 1 order by 1`,
    );
    expect(changelog.map((c) => c.day)).toEqual(['2030-01-05', '2030-01-10']);
    expect(third.reports[0].failed).toBe(3);
    // Failed since the first run, still indexed with its first failure.
    const failed = await state<{ first: string }>(
      `select cast(first_failed_at as varchar) as first from failed_rows where primary_key = '2'`,
    );
    expect(failed[0].first).toContain('2030-01-01');
  });
});
