/**
 * The programmatic API, imported by the package's name as a Node program would (`exports` in
 * package.json, the compiled dist/): a run of a sync with its progress events, a run cancelled through
 * the API while the destination holds its answers, and runs of one process sharing their write threads.
 * Real DuckDB warehouse and state, a file destination, a real HTTP receiver on loopback.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunController, loadProject, type RunEvent } from 'hightouch-like';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

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
});

async function make() {
  sink = await startHttpSink();
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  out: { type: file }
  api: { type: http, url: "\${SINK_URL}", concurrency: 2 }
`,
    'models/users.sql': 'select * from users',
    'syncs/to_file.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\n',
    'syncs/to_api.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\n',
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(400)`);
  return loadProject(project.dir, { SINK_URL: sink.url });
}

// A hang guard, not a timing: one CLI run took up to 15 s at load 18 on 2 cores; this test makes 4 runs.
describe('the programmatic API', { timeout: 180_000 }, () => {
  it('runs a sync and reports its progress as events', async () => {
    const config = await make();
    controller = new RunController();
    const events: RunEvent[] = [];
    const result = await controller.run(config, { syncs: ['to_file'], onEvent: (e) => events.push(e) });

    expect(result.status).toBe('succeeded');
    expect(result.reports).toHaveLength(1);
    expect(result.reports[0]).toMatchObject({
      sync: 'to_file',
      status: 'succeeded',
      sent: 400,
      succeeded: 400,
      failed: 0,
      failed_by_class: {},
    });
    expect(events[0]).toMatchObject({ type: 'run_started', sync: 'to_file', planned: 400 });
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', sync: 'to_file', status: 'succeeded', succeeded: 400 });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ sync: 'to_file', planned: 400, succeeded: 400, failed: 0 });
    const lines = (await readFile(join(project!.dir, 'out/to_file.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(400);
  });

  it('cancels a run: in-flight batches are committed, the run is cancelled, the next run sends the rest', async () => {
    const config = await make();
    controller = new RunController();
    // Three batches of 10 are acknowledged, then answers are held: the run cannot finish before the cancel.
    sink!.holdAfter(30);
    const run = controller.start(config, { syncs: ['to_api'] });
    const held = await Promise.race([sink!.until(() => sink!.held === 2).then(() => true), run.result.then(() => false)]);
    expect(held, 'the run ended before two batches were in flight').toBe(true);
    // The DuckDB state store's lock is per process: the controller itself keeps a sync from running twice.
    await expect(controller.run(config, { syncs: ['to_api'] })).rejects.toThrow('sync to_api is already running in this process');
    run.cancel();
    // The two held batches are the ones in flight: answered now, they must still be committed.
    sink!.release();
    const cancelled = await run.result;
    expect(cancelled.status).toBe('cancelled');
    const report = cancelled.reports[0];
    expect(report).toMatchObject({ sync: 'to_api', status: 'cancelled', error: 'cancelled by signal' });
    expect(report.succeeded).toBe(sink!.rows.size);
    expect(report.succeeded).toBeGreaterThanOrEqual(50);
    expect(report.succeeded).toBeLessThan(400);

    // A row the sink has not seen yet is refused by the next run: it shows under its failure class.
    const refused = String([...Array(400).keys()].find((id) => !sink!.rows.has(String(id))));
    sink!.rejectKeys([refused]);
    const next = await controller.run(config, { syncs: ['to_api'] });
    expect(next.status).toBe('completed_with_errors');
    expect(next.reports[0]).toMatchObject({
      status: 'completed_with_errors',
      sent: 400 - report.succeeded,
      failed: 1,
      failed_by_class: { rejected: 1 },
    });
    expect(sink!.rows.size).toBe(399);
  });

  it('starts the write threads while a sync plans, and keeps them for the next run', async () => {
    const config = await make();
    await project!.warehouse('delete from users');
    controller = new RunController();
    // Nothing to send: the threads started while the sync planned stay idle.
    const empty = await controller.run(config, { syncs: ['to_api'] });
    expect(empty.reports[0]).toMatchObject({ status: 'succeeded', sent: 0, plan: { planned: 0 } });
    expect(controller.poolStats()).toMatchObject({ created: 1, pools: [{ completed: 0 }] });
    // The next run sends on them.
    await project!.warehouse(`insert into users select range as id, 'u' || range || '@x.io' as email from range(20)`);
    const next = await controller.run(config, { syncs: ['to_api'] });
    expect(next.reports[0]).toMatchObject({ status: 'succeeded', sent: 20 });
    expect(controller.poolStats()).toMatchObject({ created: 1, pools: [{ completed: 2 }] });
  });

  it('runs syncs one after another on the same write threads', async () => {
    const config = await make();
    controller = new RunController();
    const first = await controller.run(config, { syncs: ['to_api'] });
    expect(first.status).toBe('succeeded');
    const afterFirst = controller.poolStats();
    expect(afterFirst.created).toBe(1);
    expect(afterFirst.pools).toHaveLength(1);
    expect(afterFirst.pools[0].completed).toBe(40);

    // Every row again, through the same pool: 40 more batches, no new pool.
    const second = await controller.run(config, { syncs: ['to_api'], fullResync: true });
    expect(second.reports[0]).toMatchObject({ status: 'succeeded', sent: 400, succeeded: 400 });
    const afterSecond = controller.poolStats();
    expect(afterSecond.created).toBe(1);
    expect(afterSecond.pools).toEqual([{ ...afterFirst.pools[0], completed: 80 }]);
  });
});
