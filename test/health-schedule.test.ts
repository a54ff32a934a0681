/**
 * Health and alerts under `serve`'s scheduler, in process on a virtual clock (no test waits for a
 * slot in real time): ten failed runs in a row send exactly one alert, the eleventh none, a run that
 * succeeds one recovery notice; a sync paused by a policy alerts once and its slots are skipped.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { RunController } from '../core/run/controller.js';
import { changePause } from '../core/run/pause.js';
import { Service } from '../core/service/service.js';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { VirtualClock } from './support/virtual-clock.js';

const HOOK_SECRET = 'whsec-a1b2c3d4e5f60718';

let project: TestProject | undefined;
let hook: AlertReceiver | undefined;
let sink: HttpSink | undefined;
afterEach(async () => {
  await sink?.close();
  await hook?.close();
  await project?.remove();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('health under the scheduler', () => {
  it('sends one alert after 10 failed runs in a row, none for the 11th, one recovery notice; skips a sync paused by a policy', async () => {
    const clock = new VirtualClock('2026-05-04T10:00:00Z');
    hook = await startAlertReceiver(HOOK_SECRET, () => clock.now());
    const port = await closedPort();
    project = await createProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "http://127.0.0.1:${port}/" }
alerts:
  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
`,
      'models/users.sql': 'select * from users',
      'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 1m }\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(3)`);
    const config = await loadProject(project.dir, { HOOK_SECRET });
    // Deliveries wait between attempts without real time passing.
    const controller = new RunController({ now: () => clock.now(), alertSleep: async () => {} });
    const logs: Array<Record<string, unknown>> = [];
    const waiters = new Set<() => void>();
    const service = new Service({
      project: config,
      controller,
      host: '127.0.0.1',
      port: 0,
      clock,
      onRunEvent: () => {},
      log: (msg, fields) => {
        logs.push({ msg, ...fields });
        for (const wake of waiters) wake();
      },
    });
    const count = (msg: string) => logs.filter((l) => l.msg === msg).length;
    const until = (msg: string, n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (count(msg) >= n) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    /** Moves to the next minute's slot and waits for the run (or the skip) it starts, and for its notifications. */
    const nextSlot = async (msg: string) => {
      const before = count(msg);
      await clock.advanceBy(60_000);
      await until(msg, before + 1);
      await controller.alerts.flush(10_000);
    };
    try {
      await service.start();
      for (let run = 1; run <= 9; run++) await nextSlot('schedule_finished');
      expect(hook.received).toEqual([]);
      await nextSlot('schedule_finished');
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0].verified).toBe(true);
      expect(hook.received[0].body).toMatchObject({
        kind: 'alert',
        trigger: 'consecutive_failures',
        sync: 'users',
        state: 'failing',
        consecutive_failed_runs: 10,
        // The first failure's minute: the state has not changed since.
        since: '2026-05-04T10:01:00.000Z',
        at: '2026-05-04T10:10:00.000Z',
        errors: [{ code: 'HTTP_NETWORK', count: 1, remediation: expect.stringMatching(/\w/) }],
      });
      await nextSlot('schedule_finished');
      expect(hook.received).toHaveLength(1);

      sink = await startHttpSink({ port });
      await nextSlot('schedule_finished');
      expect(sink.rows.size).toBe(3);
      expect(hook.received).toHaveLength(2);
      expect(hook.received[1].body).toMatchObject({
        kind: 'recovery',
        trigger: 'consecutive_failures',
        state: 'healthy',
        previous_state: 'failing',
        at: '2026-05-04T10:12:00.000Z',
      });

      await changePause({
        project: config,
        sync: config.syncs.users,
        pause: { by: 'policy', reason: 'API budget exhausted' },
        alerts: controller.alerts,
        emit: () => {},
        now: clock.now(),
      });
      await controller.alerts.flush(10_000);
      expect(hook.received).toHaveLength(3);
      expect(hook.received[2].body).toMatchObject({
        kind: 'alert',
        trigger: 'paused_by_policy',
        state: 'paused',
        reason: 'API budget exhausted',
      });
      const started = count('schedule_started');
      await nextSlot('schedule_skipped');
      expect(count('schedule_started')).toBe(started);
      expect(logs.find((l) => l.msg === 'schedule_skipped')).toMatchObject({
        sync: 'users',
        message: expect.stringMatching(
          /^sync users is paused \(by a policy since 2026-05-04T10:12:00.000Z: API budget exhausted\); skipped\. Resume it with: hightouch-like resume users$/,
        ),
      });
    } finally {
      await service.stop();
      await controller.close();
    }
  });
});
