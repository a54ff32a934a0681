/**
 * Stopping a run politely: SIGTERM stops dispatching, lets in-flight batches finish and commit, and
 * marks the run cancelled. Whatever the destination acknowledged is in the snapshot; the rest is
 * sent by the next run.
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

// A hang guard, not a timing: at load 18 on 2 cores one CLI run took up to 15 s, and this test makes 3.
describe('SIGTERM', { timeout: 180_000 }, () => {
  it('finishes in-flight batches, commits them, marks the run cancelled and exits 1', async () => {
    sink = await startHttpSink();
    // Three batches of 10 are acknowledged, then answers are held: the run cannot finish before the signal.
    sink.holdAfter(30);
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  api: { type: http, url: "${SINK_URL}", concurrency: 2 }\n',
      'models/users.sql': 'select * from users',
      'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(400)`);
    const env = { SINK_URL: sink.url };

    const child = project.spawn(['run', 'users', '--json'], env);
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.resume();
    // 'close', not 'exit': only then has all of stdout been read.
    const exit = new Promise((r) => child.on('close', r));
    const held = await Promise.race([sink.until(() => sink.held === 2).then(() => true), exit.then(() => false)]);
    expect(held, `the run ended before two batches were in flight: ${stdout}`).toBe(true);
    child.kill('SIGTERM');
    // The two held batches are the ones in flight: answered now, they must still be committed. Answers
    // from here on are not held, so batches sent before the signal is seen cannot hang the run.
    sink.release();
    expect(await exit).toBe(1);
    const report = JSON.parse(stdout)[0];
    expect(report.status).toBe('cancelled');
    // Every row the sink applied was committed: the snapshot and the sink agree exactly.
    expect(report.succeeded).toBe(sink.rows.size);
    expect(report.succeeded).toBeGreaterThanOrEqual(50);
    expect(report.succeeded).toBeLessThan(400);

    const runs = JSON.parse((await project.cli(['query', 'select status, rows_succeeded::int as n from sync_runs', '--json'], env)).stdout);
    expect(runs).toEqual([{ status: 'cancelled', n: sink.rows.size }]);
    const next = await project.cli(['run', 'users', '--json'], env);
    expect(JSON.parse(next.stdout)[0]).toMatchObject({ status: 'succeeded', sent: 400 - report.succeeded });
    expect(sink.rows.size).toBe(400);
  });
});
