/**
 * Read-side healing of a Salesforce extract, each error injected mid-run in the emulator: a lost query
 * locator restarts the read from the committed cursor; a refused replication window falls back to a
 * queryAll; a corrupt gzip page is asked again uncompressed; an expired session is refreshed and the
 * call replayed; revoked credentials fail the run as `credentials_required`; a field that became
 * unreadable is dropped with its column kept. The landed table equals the org after each healed run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import type { ProjectConfig } from '../core/config/types.js';
import { extractStatuses } from '../core/extract/extract-status.js';
import { runExtract } from '../core/extract/run-extract.js';
import { AlertDispatcher } from '../core/alert/dispatcher.js';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { createProject, readLandedTables, readStateStore, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const TOKEN = 'sf-heal-token-1a2b3c4d5e6f';
const REFRESH = 'sf-heal-refresh-6f5e4d3c2b1a';
const SECRET = 'sf-heal-secret-0a9b8c7d';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;

const HOOK_SECRET = 'whsec-extract-5a6b7c8d';

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
let hook: AlertReceiver | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  await hook?.close();
  project = sf = hook = undefined;
});

const landed = (sqlText: string) => readLandedTables(project!.dir, sqlText);

function org(): Array<{ id: string; lastname: string; email: string | null }> {
  return [...sf!.org.records('Contact').values()]
    .map((r) => ({ id: String(r.Id), lastname: String(r.LastName), email: (r.Email as string | undefined) ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

const table = () => landed('select id, lastname, email from contacts order by id');

/** A project reading Contact (LastName, Email), `records` seeded at T0, the org and run clocks an hour later. */
async function setup(records: number): Promise<{ project: ProjectConfig; ids: string[] }> {
  sf = await startSalesforceFixture({ accessToken: TOKEN, refreshToken: REFRESH, clientId: 'htl-client', clientSecret: SECRET });
  hook = await startAlertReceiver(HOOK_SECRET);
  sf.org.clock.set(T0);
  project = await createProject({
    'hightouch-like.config.yaml': `sources:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
    refresh_token: \${SF_REFRESH}
    client_id: htl-client
    client_secret: \${SF_SECRET}
    login_url: \${SF_URL}
alerts:
  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
`,
    'extracts/contacts.yaml': 'source: crm\nobject: Contact\nfields: [LastName, Email]\ntable: contacts\napi: rest\n',
  });
  const ids = sf.org.seed(
    'Contact',
    Array.from({ length: records }, (_, i) => ({ LastName: `Last${i}`, Email: `c${i}@example.com` })),
  );
  sf.org.clock.set(T0 + HOUR);
  return { project: await loadProject(project.dir, { ...process.env, ...sf.env(), HOOK_SECRET }), ids };
}

const at = (ms: number) => () => new Date(ms);

describe('salesforce extract healing', () => {
  it('restarts the read from the committed cursor when a query locator is lost', async () => {
    const { project: p } = await setup(2_500);
    sf!.failQueryLocatorNext(1);
    const report = await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    expect(report.status).toBe('succeeded');
    expect(report.events.map((e) => e.kind)).toEqual(['query_restarted']);
    // The first page (2,000) landed before the locator was lost; the restart re-read from its cursor.
    expect(report.rows_read).toBeGreaterThan(2_500);
    expect(await table()).toEqual(org());
    const events = await readStateStore(project!.dir, "select kind, reason from extract_events where kind = 'query_restarted'");
    expect(events).toHaveLength(1);
  });

  it('reads deletes by a SystemModstamp queryAll when getDeleted refuses the window, and says so', async () => {
    const { project: p, ids } = await setup(20);
    await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    sf!.org.clock.set(T0 + 2 * HOUR);
    sf!.org.sobject('Contact')!.remove(ids[4]);
    sf!.org.sobject('Contact')!.apply(ids[5], { LastName: 'Renamed' });
    sf!.org.clock.set(T0 + 2 * HOUR + 60_000);
    sf!.failReplicationNext(1);
    const report = await runExtract({ project: p, now: at(T0 + 2 * HOUR + 60_000) }, 'contacts');
    expect(report).toMatchObject({ status: 'succeeded', rows_deleted: 1, rows_read: 1 });
    expect(report.events.map((e) => e.kind)).toEqual(['replication_fallback']);
    expect(await table()).toEqual(org());
  });

  it('asks a corrupt gzip page again without compression', async () => {
    const { project: p } = await setup(30);
    sf!.corruptGzipNext('query', 1);
    const report = await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    expect(report.status).toBe('succeeded');
    expect(report.events.map((e) => e.kind)).toEqual(['gzip_retried']);
    expect(await table()).toEqual(org());
  });

  it('refreshes an expired session and replays the call; revoked credentials fail the run as credentials_required', async () => {
    const { project: p } = await setup(10);
    sf!.expireToken();
    const healed = await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    expect(healed.status).toBe('succeeded');
    expect(sf!.stats.refreshes).toBe(1);
    expect(await table()).toEqual(org());

    sf!.expireToken();
    sf!.revokeRefreshToken();
    const refused = await runExtract({ project: p, now: at(T0 + 2 * HOUR) }, 'contacts');
    expect(refused).toMatchObject({ status: 'failed', error_class: 'auth' });
    expect(refused.error).not.toContain(TOKEN);
    expect(refused.error).not.toContain(REFRESH);
    const [status] = await extractStatuses(p);
    expect(status.health).toBe('credentials_required');
  });

  it('drops a field that became unreadable, keeps its column unfilled, and names it in an event', async () => {
    const { project: p, ids } = await setup(10);
    await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    sf!.org.setFieldReadable('Contact', 'Email', false);
    sf!.org.clock.set(T0 + 2 * HOUR);
    sf!.org.sobject('Contact')!.apply(ids[1], { LastName: 'Renamed', Email: 'new@example.com' });
    sf!.org.clock.set(T0 + 2 * HOUR + 60_000);
    const report = await runExtract({ project: p, now: at(T0 + 2 * HOUR + 60_000) }, 'contacts');
    expect(report).toMatchObject({ status: 'succeeded', rows_read: 1, dropped_fields: ['Email'] });
    expect(report.events).toEqual([expect.objectContaining({ kind: 'field_dropped', reason: expect.stringContaining('Contact.Email') })]);
    const rows = await table();
    // The column stays; the changed record's new Email is not read, its old value stays.
    expect(rows.find((r) => r.id === ids[1])).toEqual({ id: ids[1], lastname: 'Renamed', email: 'c1@example.com' });
  });

  it('heals a field made unreadable between the count and the query: re-describes, drops it, resumes', async () => {
    const { project: p } = await setup(10);
    // Calls of route query: 1 the count, 2 the SELECT naming Email.
    sf!.beforeCall('query', 2, () => sf!.org.setFieldReadable('Contact', 'Email', false));
    const report = await runExtract({ project: p, now: at(T0 + HOUR) }, 'contacts');
    expect(report).toMatchObject({ status: 'succeeded', rows_read: 10, dropped_fields: ['Email'] });
    expect(report.events.map((e) => e.kind)).toEqual(['field_dropped']);
    expect((await table()).map((r) => r.email)).toEqual(Array(10).fill(null));
  });

  it('pauses the extract with one alert when the read fails again after healing, and skips it until resumed', async () => {
    const { project: p } = await setup(10);
    sf!.beforeCall('query', 2, () => sf!.org.setFieldReadable('Contact', 'Email', false));
    sf!.beforeCall('query', 3, () => sf!.org.setFieldReadable('Contact', 'LastName', false));
    const alerts = new AlertDispatcher();
    const report = await runExtract({ project: p, now: at(T0 + HOUR), alerts }, 'contacts');
    expect(report.status).toBe('paused');
    expect(report.events.map((e) => e.kind)).toEqual(['field_dropped', 'paused_by_policy']);
    await alerts.flush(10_000);
    expect(hook!.received).toHaveLength(1);
    expect(hook!.received[0].body).toMatchObject({ trigger: 'paused_by_policy', sync: 'extract:contacts', state: 'paused' });
    expect(hook!.received[0].verified).toBe(true);

    const skipped = await runExtract({ project: p, now: at(T0 + 2 * HOUR) }, 'contacts');
    expect(skipped.status).toBe('skipped');
    const [status] = await extractStatuses(p);
    expect(status.health).toBe('paused');
    expect(hook!.received).toHaveLength(1);

    sf!.org.setFieldReadable('Contact', 'LastName', true);
    const { resumeExtract } = await import('../core/extract/extract-status.js');
    expect(await resumeExtract(p, 'contacts', new Date(T0 + 2 * HOUR))).toBe(true);
    const resumed = await runExtract({ project: p, now: at(T0 + 2 * HOUR) }, 'contacts');
    expect(resumed.status).toBe('succeeded');
    expect(await landed('select count(*)::int as n from contacts')).toEqual([{ n: 10 }]);
  });
});
