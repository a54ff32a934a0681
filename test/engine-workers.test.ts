/**
 * `concurrency` (write calls in flight) and `workers` (threads) are separate: a thread carries its
 * share of the calls at once, so calls overlap even on fewer threads than calls.
 */
import { afterEach, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, logEvents, type TestProject } from './support/project.js';

let project: TestProject;
let sink: HttpSink;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
});

/**
 * Runs 8 batches with every answer held until `overlap` calls are on the wire at once, then answered
 * without holding: a run that cannot keep `overlap` calls in flight hangs here instead of passing.
 */
async function run(settings: string, overlap: number) {
  sink = await startHttpSink();
  sink.holdAfter(0);
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "\${SINK_URL}" }\n`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 2\n${settings}\n`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, 17)`);
  const running = project.cli(['run', 'users', '--json'], { SINK_URL: sink.url });
  const http = sink;
  const reached = await Promise.race([http.until(() => http.held === overlap).then(() => true), running.then(() => false)]);
  http.release();
  expect(reached, `the run ended without ${overlap} calls in flight at once (most: ${http.maxInFlight})`).toBe(true);
  const result = await running;
  expect(result.code, result.stderr).toBe(0);
  expect(sink.rows.size).toBe(16);
  return logEvents(result.stderr).find((e) => e.msg === 'run_started')!;
}

it('keeps `concurrency` calls in flight on a single worker thread', async () => {
  const started = await run('concurrency: 4\nworkers: 1', 4);
  expect(started).toMatchObject({ concurrency: 4, workers: 1 });
  expect(sink.maxInFlight).toBe(4);
});

it('uses one thread per call in flight when told to, and never more calls than `concurrency`', async () => {
  const started = await run('concurrency: 3\nworkers: 3', 3);
  expect(started).toMatchObject({ concurrency: 3, workers: 3 });
  expect(sink.maxInFlight).toBe(3);
});

it('defaults to no more threads than calls in flight', async () => {
  const started = await run('concurrency: 1', 1);
  expect(started).toMatchObject({ concurrency: 1, workers: 1 });
  expect(sink.maxInFlight).toBe(1);
});

it('fails the run loudly when a write thread exceeds its heap limit, and the next run sends every row', async () => {
  sink = await startHttpSink();
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "\${SINK_URL}" }\n`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { blob: blob }\nbatch_size: 20\n',
  });
  // 20 rows of 1 MB: one batch of 20 MB of payloads, and as much again as a request body.
  await project.warehouse(`create table users as select range as id, repeat(chr(97 + range::int), 1000000) as blob from range(1, 21)`);
  const starved = await project.cli(['run', 'users', '--json'], { SINK_URL: sink.url, HIGHTOUCH_LIKE_WRITE_THREAD_HEAP_MB: '24' });
  expect(starved.code, starved.stderr).not.toBe(0);
  const failed = logEvents(starved.stderr).find((e) => e.msg === 'run_failed');
  expect(String(failed?.error)).toMatch(/Worker terminated due to reaching memory limit/);
  expect(sink.rows.size).toBe(0);
  const again = await project.cli(['run', 'users', '--json'], { SINK_URL: sink.url });
  expect(again.code, again.stderr).toBe(0);
  expect(sink.rows.size).toBe(20);
  expect(JSON.parse(again.stdout)[0]).toMatchObject({ status: 'succeeded', succeeded: 20 });
});
