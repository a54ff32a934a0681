/**
 * In-run retries, batch splitting and the failed-row index, through the CLI against a real HTTP
 * server on loopback that injects faults by count.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject;
let sink: HttpSink;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
});

async function setup(options: {
  rows: number;
  batchSize: number;
  retry?: string;
  wholeBatch?: boolean;
  failEachNewBatch?: number;
  mode?: string;
  concurrency?: number;
  apiBudget?: string;
}) {
  sink = await startHttpSink({ wholeBatch: options.wholeBatch, failEachNewBatch: options.failEachNewBatch });
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api:
    type: http
    url: \${SINK_URL}
    headers: { authorization: "Bearer \${SINK_TOKEN}" }
    concurrency: ${options.concurrency ?? 2}
${options.apiBudget ? `    api_budget: ${options.apiBudget}\n` : ''}`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users
destination: api
primary_key: id
mode: ${options.mode ?? 'upsert'}
mapping: { email: email }
batch_size: ${options.batchSize}
retry: ${options.retry ?? '{ attempts: 3, base_delay_ms: 1, max_delay_ms: 5 }'}
`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, ${options.rows + 1})`);
}

const env = () => ({ SINK_URL: sink.url, SINK_TOKEN: 's3cr3t-token-value' });
const run = async (...args: string[]) => {
  const result = await project.cli(['run', 'users', '--json', ...args], env());
  return { ...result, report: result.stdout ? JSON.parse(result.stdout)[0] : null };
};
const query = async (sqlText: string) => JSON.parse((await project.cli(['query', sqlText, '--json'], env())).stdout);

describe('in-run retries', () => {
  it('retries transient 5xx with backoff until the rows land', async () => {
    await setup({ rows: 10, batchSize: 5 });
    sink.failNext(2, 503);
    const { code, report } = await run();
    expect(code).toBe(0);
    expect(report).toMatchObject({ status: 'succeeded', succeeded: 10, failed: 0, api_calls: 4 });
    expect(sink.rows.size).toBe(10);
  });

  it('does not spend the attempt budget on 429 waits, and honours Retry-After', async () => {
    await setup({ rows: 4, batchSize: 4, retry: '{ attempts: 1, base_delay_ms: 1, max_delay_ms: 5 }' });
    sink.failNext(3, 429, 0);
    const { code, report } = await run();
    expect(code).toBe(0);
    expect(report).toMatchObject({ succeeded: 4, api_calls: 4 });
  });

  it('gives up after the attempt budget and records the rows in the failed-row index', async () => {
    await setup({ rows: 3, batchSize: 3, retry: '{ attempts: 2, base_delay_ms: 1, max_delay_ms: 5 }' });
    sink.failNext(2, 503);
    const { code, report } = await run();
    expect(code).toBe(2);
    expect(report).toMatchObject({ status: 'completed_with_errors', failed: 3, api_calls: 2 });
    const failed = await query('select primary_key, error_class, error_code, attempts, status from failed_rows order by primary_key');
    expect(failed).toEqual(
      ['1', '2', '3'].map((k) => ({ primary_key: k, error_class: 'transient', error_code: 'HTTP_503', attempts: 2, status: 'retrying' })),
    );
  });

  it('splits a rejected batch in halves so the good rows still land', async () => {
    await setup({ rows: 8, batchSize: 8, wholeBatch: true });
    sink.rejectKeys(['3']);
    const { code, report } = await run();
    expect(code).toBe(2);
    // 8 → 4+4 → (2+2) → (1+1): one call for the whole, then 2, 2 and 2 to isolate the bad row.
    expect(report).toMatchObject({ succeeded: 7, failed: 1, api_calls: 7 });
    expect([...sink.rows.keys()].sort()).toEqual(['1', '2', '4', '5', '6', '7', '8']);
    expect(await query('select primary_key, error_class from failed_rows')).toEqual([{ primary_key: '3', error_class: 'rejected' }]);
  });

  it('never fails the good neighbours of a rejected row when the sink also answers 503', async () => {
    // Every new batch (the whole, then each half) is first answered 503, then served: a rejected
    // batch splits 9 times down to the bad row, each half spending one transient retry. Halves that
    // inherited their parent's count ran out at the 5th level and failed 31 good rows as HTTP_503.
    await setup({
      rows: 500,
      batchSize: 500,
      wholeBatch: true,
      failEachNewBatch: 503,
      retry: '{ attempts: 5, base_delay_ms: 1, max_delay_ms: 2 }',
    });
    sink.rejectKeys(['3']);
    const { code, report } = await run();
    expect(code).toBe(2);
    expect(report).toMatchObject({ succeeded: 499, failed: 1, api_calls: sink.received.length });
    expect(sink.rows.size).toBe(499);
    const sendsOfBadRow = sink.received.filter((r) => r.rows.some((row) => row.key === '3')).length;
    // 500, 250, 125, 63, 32, 16, 8, 4, 2, 1 rows: each sent twice (503, then the 400).
    expect(sendsOfBadRow).toBe(20);
    const failed = await query('select primary_key, error_class, error_code, attempts from failed_rows');
    expect(failed).toEqual([{ primary_key: '3', error_class: 'rejected', error_code: 'HTTP_400', attempts: sendsOfBadRow }]);
  });

  it('stops the run on an auth failure without touching the failed-row index', async () => {
    await setup({ rows: 4, batchSize: 2 });
    sink.failNext(10, 401);
    const { code, report, stderr } = await run();
    expect(stderr).not.toContain('s3cr3t-token-value');
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.error).toContain('HTTP_401');
    expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
    const changelog = await query(`select distinct status from sync_changelog`);
    expect(changelog).toEqual([{ status: 'aborted' }]);
    // Secrets from ${ENV} never reach the state store.
    const everything = JSON.stringify(await query('select * from sync_runs')) + JSON.stringify(await query('select * from sync_changelog'));
    expect(everything).not.toContain('s3cr3t-token-value');
  });
  it('stops the run when the destination is down for several batches in a row', async () => {
    await setup({ rows: 40, batchSize: 2, retry: '{ attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }' });
    sink.failNext(1000, 503);
    const { code, report } = await run();
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/DESTINATION_UNAVAILABLE: \d+ batches in a row failed after every retry; last: HTTP_503/);
    // Concurrency 2 lets at most one more batch finish after the third failure.
    expect(report.failed).toBeLessThanOrEqual(8);
    expect(sink.received.length).toBeLessThan(20);
  });
  it('with one call at a time sends exactly three failing batches: a queued batch waits for the judgement of the one before', async () => {
    await setup({ rows: 40, batchSize: 2, retry: '{ attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }', concurrency: 1 });
    sink.failNext(1000, 503);
    const { code, report } = await run();
    expect(code).toBe(1);
    expect(report.error).toMatch(/DESTINATION_UNAVAILABLE: 3 batches in a row failed after every retry/);
    // 3 batches × 2 attempts; a batch queued in the write thread must not leave while the third is judged.
    expect(sink.received.length).toBe(6);
    expect(report).toMatchObject({ sent: 6, failed: 6, aborted: 0 });
  });
  it('max_calls_per_run counts retries: batches that each take two calls stop the run at exactly the limit', async () => {
    await setup({ rows: 20, batchSize: 2, concurrency: 1, failEachNewBatch: 503, apiBudget: '{ max_calls_per_run: 4 }' });
    const { code, report } = await run();
    expect(code, report?.error).toBe(3);
    // Two batches, each refused once then taken: no batch queued in a write thread leaves past the limit.
    expect(sink.received.length).toBe(4);
    expect(report).toMatchObject({ status: 'deferred', sent: 4, succeeded: 4, api_calls: 4, deferred: 16 });
  });
});

describe('failed-row index across runs', () => {
  it('retries only the failed rows on the next run, with their latest values, then forgets them', async () => {
    await setup({ rows: 6, batchSize: 6 });
    sink.rejectKeys(['2', '5']);
    expect((await run()).code).toBe(2);
    expect(await query('select primary_key from failed_rows order by 1')).toEqual([{ primary_key: '2' }, { primary_key: '5' }]);

    await project.warehouse(`update users set email = 'new2@x.io' where id = 2`);
    sink.rejectKeys(['5']);
    const before = sink.received.length;
    const second = await run();
    expect(second.code).toBe(2);
    expect(second.report.plan).toMatchObject({ retrying: 2, planned: 2 });
    const resent = sink.received
      .slice(before)
      .flatMap((r) => r.rows.map((row) => row.key))
      .sort();
    expect(resent).toEqual(['2', '5']);
    expect(sink.rows.get('2')).toEqual({ email: 'new2@x.io' });
    const still = await query('select primary_key, attempts from failed_rows');
    expect(still).toEqual([{ primary_key: '5', attempts: 2 }]);

    sink.rejectKeys([]);
    const third = await run();
    expect(third.code).toBe(0);
    expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
    expect(sink.rows.size).toBe(6);
  });

  it('drops a failed row from the index when it leaves the model', async () => {
    await setup({ rows: 3, batchSize: 3 });
    sink.rejectKeys(['2']);
    await run();
    await project.warehouse('delete from users where id = 2');
    const next = await run();
    expect(next.code).toBe(0);
    expect(next.report.plan.planned).toBe(0);
    expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
  });
});
