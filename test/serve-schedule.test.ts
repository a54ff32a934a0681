/**
 * The service on a virtual clock: two syncs every 15 minutes, one whose destination refuses connections.
 * At each slot the good sync runs (at the slot, by the service's clock) and the bad one records a failed
 * run, while the HTTP API answers status and queries. The service runs in this process so its clock can be
 * moved; nothing waits for a schedule in real time (runs themselves are real: DuckDB, HTTP, threads).
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { RunController } from '../core/run/controller.js';
import { Service } from '../core/service/service.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { VirtualClock } from './support/virtual-clock.js';

let project: TestProject | undefined;
let sink: HttpSink | undefined;
let service: Service | undefined;
let controller: RunController | undefined;
afterEach(async () => {
  await service?.stop();
  await controller?.close();
  await sink?.close();
  await project?.remove();
  service = controller = sink = project = undefined;
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

type Logged = Record<string, unknown> & { msg: string };

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
    const loaded = await loadProject(project.dir, env);

    const clock = new VirtualClock('2026-03-01T08:07:00Z');
    const logged: Logged[] = [];
    const waiters: Array<() => void> = [];
    controller = new RunController();
    service = new Service({
      project: loaded,
      controller,
      host: '127.0.0.1',
      port: 0,
      clock,
      onRunEvent: () => {},
      log: (msg, fields) => {
        logged.push({ msg, ...fields });
        for (const wake of waiters.splice(0)) wake();
      },
    });
    const { port } = await service.start();
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise<void>((r) => waiters.push(r));
    };
    const finishedRuns = (sync: string) => logged.filter((e) => e.msg === 'schedule_finished' && e.sync === sync).length;
    const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: (await response.json()) as any };
    };

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
