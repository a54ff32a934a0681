/**
 * Three services on one PostgreSQL state store, as three machines whose clocks agree: each sees every
 * 10-minute slot of the sync come, and each slot runs exactly once, wherever. The services run in this
 * process so their (virtual) clocks can be moved together; the queue between them is the real pg-boss.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { RunController } from '../core/run/controller.js';
import { Service } from '../core/service/service.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { createProject, type TestProject } from './support/project.js';
import { VirtualClock } from './support/virtual-clock.js';

const admin = usePgAdmin();
let project: TestProject | undefined;
let sink: HttpSink | undefined;
const services: Service[] = [];
const controllers: RunController[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.stop();
  for (const controller of controllers.splice(0)) await controller.close();
  await sink?.close();
  await project?.remove();
  for (const schema of schemas.splice(0)) await admin.query(`drop schema if exists ${schema} cascade`);
  sink = project = undefined;
});

type Logged = Record<string, unknown> & { msg: string; service: number };

describe('a fleet of three services on virtual clocks', { timeout: 180_000 }, () => {
  it('runs each slot exactly once across the fleet', async () => {
    const id = `${process.pid}_slots`;
    const stateSchema = `htl_slots_${id}`;
    const queueSchema = `htl_slotq_${id}`;
    schemas.push(stateSchema, queueSchema);
    await admin.query(`drop schema if exists ${stateSchema} cascade; drop schema if exists ${queueSchema} cascade`);
    await admin.query(`create schema ${stateSchema}`);
    sink = await startHttpSink();
    project = await createProject({
      'hightouch-like.config.yaml':
        'warehouse: { type: duckdb, path: warehouse.duckdb }\n' +
        'state: { type: postgres, url: "${STATE_URL}" }\n' +
        `scheduler: { max_parallel: 1, takeover_seconds: 600, queue_schema: ${queueSchema} }\n` +
        'destinations:\n' +
        '  api: { type: http, url: "${SINK_URL}" }\n',
      'models/users.sql': 'select * from users',
      'syncs/users.yaml': 'model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 10m }\n',
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(200)`);
    const env = {
      ...process.env,
      SINK_URL: sink.url,
      STATE_URL: `${PG_BASE}?options=${encodeURIComponent(`-c search_path=${stateSchema}`)}`,
    };

    const logged: Logged[] = [];
    const waiters: Array<() => void> = [];
    const until = async (condition: () => boolean) => {
      while (!condition()) await new Promise<void>((r) => waiters.push(r));
    };
    const count = (msg: string) => logged.filter((e) => e.msg === msg).length;
    const clocks = [0, 1, 2].map(() => new VirtualClock('2026-03-01T08:05:00Z'));
    for (const [i, clock] of clocks.entries()) {
      const controller = new RunController();
      controllers.push(controller);
      const service = new Service({
        project: await loadProject(project.dir, env),
        controller,
        host: '127.0.0.1',
        port: 0,
        clock,
        onRunEvent: () => {},
        log: (msg, fields) => {
          logged.push({ msg, service: i, ...fields });
          for (const wake of waiters.splice(0)) wake();
        },
      });
      services.push(service);
      await service.start();
    }

    const slots = ['2026-03-01T08:10:00.000Z', '2026-03-01T08:20:00.000Z', '2026-03-01T08:30:00.000Z'];
    for (const [i, slot] of slots.entries()) {
      await Promise.all(clocks.map((clock) => clock.advanceTo(slot)));
      // All three saw the slot; one enqueued it, the other two found it claimed; its run finished.
      await until(() => count('schedule_enqueued') + count('schedule_claimed_elsewhere') === 3 * (i + 1));
      await until(() => count('job_finished') === i + 1);
    }
    const due = logged.filter((e) => e.msg === 'schedule_due');
    expect(due.map((e) => e.slot).sort()).toEqual(slots.flatMap((s) => [s, s, s]));
    expect(count('schedule_enqueued')).toBe(3);
    expect(count('schedule_claimed_elsewhere')).toBe(6);
    const enqueued = logged.filter((e) => e.msg === 'schedule_enqueued');
    expect(enqueued.map((e) => [e.slot, e.outcome])).toEqual(slots.map((s) => [s, 'queued']));

    // No job left that could start a fourth run; each slot ran once, one after the other.
    // pg-boss marks a job completed just after its handler returned: wait for that, re-reading at most every 200 ms.
    const pending = async () =>
      (await admin.query(`select count(*)::int as n from ${queueSchema}.job where state in ('created', 'retry', 'active')`)).rows[0].n;
    while ((await pending()) > 0) await new Promise((r) => setTimeout(r, 200));
    const runs = await admin.query(`select status from ${stateSchema}.sync_runs order by started_at`);
    expect(runs.rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(count('job_started')).toBe(3);
    const claims = await admin.query(`select slot_at from ${stateSchema}.schedule_claims order by slot_at`);
    expect(claims.rows.map((r) => (r.slot_at as Date).toISOString())).toEqual(slots);
    expect(sink.rows.size).toBe(200);
  });
});
