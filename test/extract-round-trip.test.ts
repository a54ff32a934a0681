/**
 * Both directions in one service: `serve` (in process, on a virtual clock) extracts Contacts from the
 * Salesforce emulator every 15 minutes into the landed table, and a sync five minutes later sends a
 * field computed by a model over that table back to the same Contacts. A change made in the org at
 * 08:22 is landed at 08:30 and written back, recomputed, at 08:35.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcessService } from './support/in-process-service.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';
import { VirtualClock } from './support/virtual-clock.js';

const TOKEN = 'sf-round-token-8e7d6c5b4a39';

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  await sf?.close();
  await project?.remove();
  stop = sf = project = undefined;
});

describe('extract, model and sync back, scheduled by serve', { timeout: 120_000 }, () => {
  it('lands Contacts, computes a field over the landed table, and writes it back to Salesforce on schedule', async () => {
    sf = await startSalesforceFixture({ accessToken: TOKEN });
    sf.org.clock.set('2026-03-01T07:00:00Z');
    const ids = sf.org.seed(
      'Contact',
      Array.from({ length: 40 }, (_, i) => ({ LastName: `Name${'x'.repeat(i % 7)}`, External_Id__c: `ext-${i}` })),
    );
    project = await createProject({
      'hightouch-like.config.yaml': `sources:
  crm: { type: salesforce, instance_url: "\${SF_URL}", access_token: "\${SF_TOKEN}" }
destinations:
  crm_out: { type: salesforce, instance_url: "\${SF_URL}", access_token: "\${SF_TOKEN}" }
`,
      'extracts/contacts.yaml':
        'source: crm\nobject: Contact\nfields: [LastName, External_Id__c]\ntable: contacts\nschedule: { every: 15m }\n',
      'models/name_lengths.sql': 'select external_id__c as ext, length(lastname) as name_length from landed.contacts',
      'syncs/name_lengths.yaml':
        'model: name_lengths\ndestination: crm_out\nprimary_key: ext\nobject: Contact\nexternal_id: External_Id__c\n' +
        'mapping: { External_Id__c: ext, NumberOfEmployees__c: name_length }\nschedule: { cron: "5,20,35,50 * * * *" }\n',
    });
    const clock = new VirtualClock('2026-03-01T08:07:00Z');
    const inProcess = await startInProcessService({
      dir: project.dir,
      env: { ...process.env, ...sf.env() },
      controller: { now: () => clock.now() },
      clock,
    });
    stop = inProcess.close;
    const { logged, until, finished, api } = inProcess;
    const employees = () => ids.map((id) => sf!.org.records('Contact').get(id)!.NumberOfEmployees__c ?? null);

    sf.org.clock.set('2026-03-01T08:15:00Z');
    await clock.advanceTo('2026-03-01T08:15:00Z');
    await until(() => finished('extract:contacts') === 1);
    sf.org.clock.set('2026-03-01T08:20:00Z');
    await clock.advanceTo('2026-03-01T08:20:00Z');
    await until(() => finished('name_lengths') === 1);
    expect(employees()).toEqual(ids.map((_, i) => 4 + (i % 7)));

    // An edit in the org: landed at the next extract slot, written back at the next sync slot.
    sf.org.clock.set('2026-03-01T08:22:00Z');
    sf.org.sobject('Contact')!.apply(ids[3], { LastName: 'A much longer last name' });
    sf.org.clock.set('2026-03-01T08:30:00Z');
    await clock.advanceTo('2026-03-01T08:30:00Z');
    await until(() => finished('extract:contacts') === 2);
    sf.org.clock.set('2026-03-01T08:35:00Z');
    await clock.advanceTo('2026-03-01T08:35:00Z');
    await until(() => finished('name_lengths') === 2);
    expect(sf.org.records('Contact').get(ids[3])!.NumberOfEmployees__c).toBe('A much longer last name'.length);

    // The service answers for extracts: status with its next slot, and a manual run.
    const listed = (await api('GET', '/api/extracts')).body as Array<Record<string, unknown>>;
    expect(listed).toEqual([
      expect.objectContaining({
        extract: 'contacts',
        last_status: 'succeeded',
        health: 'healthy',
        next_run_at: '2026-03-01T08:45:00.000Z',
      }),
    ]);
    const trigger = await api('POST', '/api/extracts/contacts/trigger', {});
    expect(trigger.status).toBe(202);
    await until(() => finished('extract:contacts') === 3);

    const extractRuns = logged.filter((e) => e.msg === 'extract_finished');
    expect(extractRuns.map((e) => e.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const syncRuns = logged.filter((e) => e.msg === 'schedule_finished' && e.sync === 'name_lengths');
    expect(syncRuns.map((e) => e.error ?? null)).toEqual([null, null]);
  });
});
