/**
 * Health and alerts under `serve`'s scheduler, in process on a virtual clock (no test waits for a
 * slot in real time): ten failed runs in a row send exactly one alert, the eleventh none, a run that
 * succeeds one recovery notice; a sync paused by a policy alerts once and its slots are skipped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { changePause } from '../core/run/pause.js';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { startInProcessService } from './support/in-process-service.js';
import { VirtualClock } from './support/virtual-clock.js';
import { closedPort } from './support/closed-port.js';

const HOOK_SECRET = 'whsec-a1b2c3d4e5f60718';

let project: TestProject | undefined;
let hook: AlertReceiver | undefined;
let sink: HttpSink | undefined;
afterEach(async () => {
  await sink?.close();
  await hook?.close();
  await project?.remove();
});

/**
 * A sync every minute to a port nothing listens on (so each run fails), alerting the signed webhook
 * receiver, under an in-process `serve` on a virtual clock from 10:00 whose deliveries never wait.
 */
async function failingSyncUnderServe(rows: number, alertKeys = '') {
  const clock = new VirtualClock('2026-05-04T10:00:00Z');
  hook = await startAlertReceiver(HOOK_SECRET, () => clock.now());
  const port = await closedPort();
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "http://127.0.0.1:${port}/" }
alerts:
${alertKeys}  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 1m }\n',
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(${rows})`);
  const inProcess = await startInProcessService({
    dir: project.dir,
    env: { HOOK_SECRET },
    clock,
    controller: { now: () => clock.now(), alertSleep: async () => {} },
  });
  return { clock, port, inProcess };
}

describe('health under the scheduler', () => {
  it('sends one alert after 10 failed runs in a row, none for the 11th, one recovery notice; skips a sync paused by a policy', async () => {
    const { clock, port, inProcess } = await failingSyncUnderServe(3);
    const { project: config, controller, count, logged: logs } = inProcess;
    const until = (msg: string, n: number) => inProcess.until(() => count(msg) >= n);
    /** Moves to the next minute's slot and waits for the run (or the skip) it starts, and for its notifications. */
    const nextSlot = async (msg: string) => {
      const before = count(msg);
      await clock.advanceBy(60_000);
      await until(msg, before + 1);
      await controller.alerts.flush(10_000);
    };
    try {
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
      await inProcess.close();
    }
  });
});

describe('alert reminders under the scheduler', () => {
  it('repeats an alert still firing once the reminder interval has passed since the last notice, then sends one recovery', async () => {
    const { clock, port, inProcess } = await failingSyncUnderServe(
      2,
      '  triggers: { run_failed: true, consecutive_failures: false }\n  reminder: 3m\n',
    );
    const { controller, count } = inProcess;
    const nextSlot = async () => {
      const before = count('schedule_finished');
      await clock.advanceBy(60_000);
      await inProcess.until(() => count('schedule_finished') > before);
      await controller.alerts.flush(10_000);
    };
    const sent = () => hook!.received.map((r) => `${r.body.kind}@${String(r.body.at).slice(11, 16)}`);
    try {
      // Failing from 10:01: the alert, then a reminder at the first run 3 minutes or more after each notice.
      for (let minute = 1; minute <= 8; minute++) await nextSlot();
      expect(sent()).toEqual(['alert@10:01', 'reminder@10:04', 'reminder@10:07']);
      expect(hook.received.every((r) => r.verified)).toBe(true);
      expect(hook.received[1].body).toMatchObject({
        kind: 'reminder',
        trigger: 'run_failed',
        state: 'failing',
        since: '2026-05-04T10:01:00.000Z',
      });

      // Recovered at 10:09: one recovery notice, and no reminder after it.
      sink = await startHttpSink({ port });
      for (let minute = 9; minute <= 13; minute++) await nextSlot();
      expect(sent()).toEqual(['alert@10:01', 'reminder@10:04', 'reminder@10:07', 'recovery@10:09']);
    } finally {
      await inProcess.close();
    }
  });
});
