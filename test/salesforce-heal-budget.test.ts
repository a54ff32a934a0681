/**
 * Self-healing and the API budget of the salesforce destination, through real jsforce against the
 * emulator: a mapped field deleted mid-run is dropped and the run completes; a write permission removed
 * mid-run pauses the sync with one alert; at 87% of the daily limit failed rows wait and new changes
 * go; a daily quota spent mid-run defers the rest to a later run (virtual clock, no waiting).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunController, loadProject } from '../core/api.js';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';
import { VirtualClock } from './support/virtual-clock.js';

const TOKEN = 'sf-access-5e6f7a8b9c0d1e2f';
/** Several CLI runs per test, each a few seconds on a loaded machine. */
const SLOW = 180_000;
const HOOK_SECRET = 'whsec-9a8b7c6d5e4f3a2b';

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
let hook: AlertReceiver | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  await hook?.close();
  project = sf = hook = undefined;
});

async function setup(rows: number, extra = '', concurrency = 2): Promise<void> {
  sf = await startSalesforceFixture({ accessToken: TOKEN });
  hook = await startAlertReceiver(HOOK_SECRET);
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
    api_version: 62.0
    concurrency: ${concurrency}
${extra}
alerts:
  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
`,
    'models/contacts.sql': 'select * from contacts',
    'syncs/contacts.yaml': `model: contacts
destination: crm
primary_key: id
object: Contact
external_id: External_Id__c
batch_size: 50
retry: { attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }
mapping: { External_Id__c: ext, LastName: last_name, Phone: phone }
`,
  });
  await project.warehouse(
    `create table contacts as select range as id, 'C-' || range as ext, 'Last' || range as last_name, '+1-555-' || range as phone from range(1, ${rows + 1})`,
  );
}

const env = () => ({ ...sf!.env(), HOOK_SECRET });
const run = async () => {
  const result = await project!.cli(['run', 'contacts', '--json'], env());
  return { ...result, report: JSON.parse(result.stdout)[0] };
};
const query = async (sqlText: string) => JSON.parse((await project!.cli(['query', sqlText, '--json'], env())).stdout);
const status = async () => JSON.parse((await project!.cli(['status', '--json'], env())).stdout)[0];
const contacts = () => [...sf!.org.records('Contact').values()];

describe('self-healing', () => {
  it(
    'drops a field deleted after the third write call, re-sends the held rows once, and records an event naming it',
    async () => {
      await setup(400);
      sf!.beforeWriteNumber(4, () => sf!.org.setFieldState('Contact', 'Phone', 'deleted'));
      const healed = await run();
      expect(healed.code, healed.stderr).toBe(0);
      expect(healed.report).toMatchObject({ status: 'succeeded', succeeded: 400, failed: 0, sent: 400, dropped_fields: ['Phone'] });
      const records = contacts();
      expect(records).toHaveLength(400);
      // The first three calls (150 rows) went with Phone; everything after the deletion went without.
      expect(records.filter((r) => r.Phone !== undefined)).toHaveLength(150);
      expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
      const events = await query(`select kind, reason from events where kind = 'field_dropped'`);
      expect(events).toHaveLength(1);
      expect(events[0].reason).toMatch(/Phone/);
      const heals = healed.stderr.split('\n').filter((line) => line.includes('"schema_healed"'));
      expect(heals).toHaveLength(1);

      // Back in Salesforce: the rows sent without it are sent again, whole.
      sf!.org.setFieldState('Contact', 'Phone', 'ok');
      const restored = await run();
      expect(restored.report).toMatchObject({ status: 'succeeded', succeeded: 250 });
      expect(contacts().filter((r) => r.Phone !== undefined)).toHaveLength(400);
    },
    SLOW,
  );

  it(
    'one call at a time: no batch leaves while the heal runs; one queued before it goes under the healed target; exact write calls',
    async () => {
      await setup(400, '', 1);
      sf!.beforeWriteNumber(4, () => sf!.org.setFieldState('Contact', 'Phone', 'deleted'));
      const healed = await run();
      expect(healed.code, healed.stderr).toBe(0);
      expect(healed.report).toMatchObject({ status: 'succeeded', succeeded: 400, sent: 400, dropped_fields: ['Phone'] });
      // 3 with Phone, the 4th refused, its rows again after the heal, then the other 200 rows. The batch
      // queued in the write thread waits out the heal and goes without Phone; before the gate, the next
      // batch left during the heal with Phone, was refused, and cost a 10th call.
      expect(sf!.writes.map((w) => w.records)).toEqual([50, 50, 50, 50, 50, 50, 50, 50, 50]);
      expect(contacts().filter((r) => r.Phone !== undefined)).toHaveLength(150);
    },
    SLOW,
  );

  it(
    'pauses the sync with one alert naming the field when a write permission is removed mid-run',
    async () => {
      await setup(400);
      sf!.beforeWriteNumber(4, () => sf!.org.setFieldState('Contact', 'Phone', 'readOnly'));
      const stopped = await run();
      expect(stopped.code).toBe(1);
      expect(stopped.report).toMatchObject({
        status: 'failed',
        error_class: 'schema_drift',
        error_code: 'SF_INVALID_FIELD_FOR_INSERT_UPDATE',
      });
      expect(stopped.report.paused_by_policy).toMatch(/Phone/);
      const failed = await query(`select count(*)::int as n, min(error_code) as code from failed_rows`);
      expect(failed[0].n).toBeGreaterThan(0);
      expect(failed[0].code).toBe('SF_INVALID_FIELD_FOR_INSERT_UPDATE');
      expect(await status()).toMatchObject({ health: 'paused', failed_rows: failed[0].n });
      expect(hook!.received).toHaveLength(1);
      expect(hook!.received[0].body).toMatchObject({ kind: 'alert', trigger: 'paused_by_policy', state: 'paused' });
      expect(hook!.received[0].body.reason).toMatch(/Phone/);
      // A paused sync does not run.
      const skipped = await run();
      expect(skipped.report.status).toBe('skipped');
      expect(hook!.received).toHaveLength(1);
    },
    SLOW,
  );
});

describe('API budget', () => {
  it(
    'at 87% of the daily limit holds failed-row retries back and still sends new changes; status explains it',
    async () => {
      await setup(10);
      sf!.org.addRule({ object: 'Contact', field: 'LastName', value: 'Last3', statusCode: 'UNABLE_TO_LOCK_ROW', times: 100 });
      const first = await run();
      expect(first.report).toMatchObject({ succeeded: 9, failed: 1 });
      sf!.org.clearRules();
      sf!.apiUsed = 13_050;
      await project!.warehouse(`update contacts set last_name = 'New' || id where id in (5, 6)`);
      const second = await run();
      expect(second.report).toMatchObject({ status: 'succeeded', succeeded: 2, failed: 0, retries_held: 1 });
      expect(second.report.retries_held_reason).toMatch(/\(87(\.\d)?%\) is above 75% of the daily limit/);
      expect(sf!.org.records('Contact').size).toBe(9);
      const s = await status();
      expect(s).toMatchObject({ failed_rows: 1, retries_held: 1, api_usage: { limit: 15_000 } });
      expect(s.api_usage.used).toBeGreaterThanOrEqual(13_050);
      expect(s.api_usage.remaining).toBe(15_000 - s.api_usage.used);
      const text = (await project!.cli(['status'], env())).stdout;
      expect(text).toMatch(/1 failed-row retries held back: API usage \d+ of 15000/);

      // Usage back down: the retry goes.
      sf!.apiUsed = 100;
      expect((await run()).report).toMatchObject({ succeeded: 1, retries_held: 0 });
      expect(sf!.org.records('Contact').size).toBe(10);
    },
    SLOW,
  );

  it(
    'stops a run at max_calls_per_run with the rest deferred, rejects nothing, and later runs finish; exact call counts',
    async () => {
      await setup(400, '    api_budget: { max_calls_per_run: 4 }');
      // Each run: GET /limits, then write calls of 50 rows until the run has made 4 calls.
      const first = await run();
      expect(first.code, first.stderr).toBe(3);
      expect(first.report).toMatchObject({ status: 'deferred', sent: 150, succeeded: 150, failed: 0, deferred: 250, api_calls: 4 });
      // No wait: the next run may send at once.
      expect(first.report.error).toBe(
        `deferred: api_budget.max_calls_per_run reached; 250 rows are sent by a run at or after ${first.report.deferred_until}`,
      );
      expect(Date.parse(first.report.deferred_until)).toBeLessThanOrEqual(Date.now());
      expect(sf!.writes.map((w) => w.records)).toEqual([50, 50, 50]);
      expect(contacts()).toHaveLength(150);
      expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
      expect((await status()).health).toBe('healthy');

      const second = await run();
      expect(second.report).toMatchObject({ status: 'deferred', sent: 150, succeeded: 150, deferred: 100, api_calls: 4 });
      expect(sf!.writes).toHaveLength(6);

      const third = await run();
      expect(third.code).toBe(0);
      expect(third.report).toMatchObject({ status: 'succeeded', sent: 100, succeeded: 100, failed: 0, deferred: 0, api_calls: 3 });
      expect(sf!.writes).toHaveLength(8);
      expect(contacts()).toHaveLength(400);
      const runs = await query('select status, rows_deferred from sync_runs order by started_at');
      expect(runs).toEqual([
        { status: 'deferred', rows_deferred: 250 },
        { status: 'deferred', rows_deferred: 100 },
        { status: 'succeeded', rows_deferred: 0 },
      ]);
    },
    SLOW,
  );

  it(
    'defers the rest of a run when the daily quota is spent mid-run, rejects nothing, and a later run finishes',
    async () => {
      await setup(400);
      const clock = new VirtualClock('2030-01-01T10:00:00Z');
      const controller = new RunController();
      const go = async () => (await controller.run(await loadProject(project!.dir, env()), { syncs: ['contacts'], clock })).reports[0];
      sf!.beforeWriteNumber(4, () => sf!.exhaustApiLimit(true));
      const first = await go();
      expect(first).toMatchObject({ status: 'deferred', failed: 0, error_class: null });
      expect(first.succeeded).toBeGreaterThanOrEqual(100);
      expect(first.deferred).toBe(400 - first.succeeded);
      expect(first.deferred_until).toBe('2030-01-01T11:00:00.000Z');
      expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
      expect((await status()).health).toBe('healthy');

      // Before the budget should allow it, a run writes nothing (its check's describe is refused too).
      await clock.advanceBy(30 * 60_000);
      const writes = sf!.stats.writeCalls;
      const waiting = await go();
      expect(waiting).toMatchObject({ status: 'deferred', sent: 0, failed: 0 });
      expect(sf!.stats.writeCalls).toBe(writes);
      expect((await status()).health).toBe('healthy');

      // The quota frees; a run before resume time still sends nothing, one after it finishes the work.
      sf!.exhaustApiLimit(false);
      await clock.advanceBy(10 * 60_000);
      const early = await go();
      expect(early).toMatchObject({ status: 'deferred', sent: 0, deferred: 400 - first.succeeded });
      expect(sf!.stats.writeCalls).toBe(writes);
      await clock.advanceBy(61 * 60_000);
      const finished = await go();
      expect(finished).toMatchObject({ status: 'succeeded', succeeded: 400 - first.succeeded, failed: 0 });
      expect(sf!.org.records('Contact').size).toBe(400);
    },
    SLOW,
  );
});
