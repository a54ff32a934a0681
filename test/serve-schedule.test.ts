/**
 * The service on a virtual clock: two syncs every 15 minutes, one whose destination refuses connections.
 * At each slot the good sync runs (at the slot, by the service's clock) and the bad one records a failed
 * run, while the HTTP API answers status and queries. The service runs in this process so its clock can be
 * moved; nothing waits for a schedule in real time (runs themselves are real: DuckDB, HTTP, threads).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { startInProcessService } from './support/in-process-service.js';
import { closedPort } from './support/closed-port.js';

let project: TestProject | undefined;
let sink: HttpSink | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  await sink?.close();
  await project?.remove();
  stop = sink = project = undefined;
});

describe('serve on a virtual clock', { timeout: 120_000 }, () => {
  it('runs the good sync at each 15-minute slot, records a failed run of the bad one each time, and answers meanwhile', async () => {
    sink = await startHttpSink();
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\n' +
        'scheduler: { max_parallel: 2 }\n' +
        'destinations:\n' +
        '  api: { type: http, url: "${SINK_URL}" }\n' +
        '  down: { type: http, url: "http://127.0.0.1:${DOWN_PORT}/rows" }\n',
      'models/users.sql': 'select * from users',
      'syncs/good.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 15m }\n',
      'syncs/bad.yaml': 'model: users\ndestination: down\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 15m }\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(300)`);
    const env = { ...process.env, SINK_URL: sink.url, DOWN_PORT: String(await closedPort()) };
    const inProcess = await startInProcessService({ dir: project.dir, env });
    stop = inProcess.close;
    const { clock, logged, until, finished: finishedRuns, api } = inProcess;

    // Nothing is due before the first slot.
    await clock.advanceTo('2026-03-01T08:14:59Z');
    expect(logged.filter((e) => e.msg === 'schedule_due')).toEqual([]);
    const syncs = await api('GET', '/api/syncs');
    expect(syncs.body.map((s: any) => [s.sync, s.next_run_at])).toEqual([
      ['bad', '2026-03-01T08:15:00.000Z'],
      ['good', '2026-03-01T08:15:00.000Z'],
    ]);

    const slots = ['2026-03-01T08:15:00.000Z', '2026-03-01T08:30:00.000Z', '2026-03-01T08:45:00.000Z'];
    for (const [i, slot] of slots.entries()) {
      await clock.advanceTo(slot);
      await until(() => finishedRuns('good') === i + 1 && finishedRuns('bad') === i + 1);
      // The service answers between runs and after them: status and a read-only query.
      const status = await api('GET', '/api/syncs');
      const bySync = Object.fromEntries(status.body.map((s: any) => [s.sync, s]));
      expect(bySync.good).toMatchObject({ last_status: 'succeeded', synced_rows: 300 });
      expect(bySync.bad.last_status).toBe('failed');
      expect(bySync.good.next_run_at).toBe(new Date(Date.parse(slot) + 15 * 60_000).toISOString());
      const counted = await api('POST', '/api/query', { sql: "select count(*) as n from sync_runs where sync_name = 'bad'" });
      expect(counted.status).toBe(200);
      expect(counted.body.columns).toEqual(['n']);
      expect(Number(counted.body.rows[0][0])).toBe(i + 1);
    }

    // Each run started at its slot by the service's clock, never between slots, and nothing ran twice.
    const due = logged.filter((e) => e.msg === 'schedule_due');
    expect(due.map((e) => [e.sync, e.slot, e.missed]).sort()).toEqual([
      ...slots.map((slot) => ['bad', slot, false]),
      ...slots.map((slot) => ['good', slot, false]),
    ]);
    const started = logged.filter((e) => e.msg === 'schedule_started');
    expect(started.map((e) => e.reason)).toEqual(Array(6).fill('schedule'));
    expect(sink.rows.size).toBe(300);
    const runs = await api('GET', '/api/runs?limit=10');
    const statuses = (sync: string) => runs.body.filter((r: any) => r.sync_name === sync).map((r: any) => r.status);
    expect(statuses('good')).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(statuses('bad')).toEqual(['failed', 'failed', 'failed']);
    expect(runs.body.find((r: any) => r.sync_name === 'bad').error).toMatch(/destination "down" \(http\) is not usable/);
  });
});
