/**
 * Extracts from the Salesforce emulator through real jsforce, in process: a first full load, then an
 * incremental run that reads only what changed and applies deletes, into DuckDB and into PostgreSQL;
 * the landed table equals the org after each run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { runExtract } from '../core/extract/run-extract.js';
import { createProject, readLandedTables, readStateStore, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const TOKEN = 'sf-read-token-7c1d2e3f4a5b';
const T0 = Date.parse('2026-03-02T09:00:00Z');

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  project = sf = undefined;
});

const landed = readLandedTables;

function orgContacts(): Array<{ id: string; lastname: string; email: string | null }> {
  return [...sf!.org.records('Contact').values()]
    .map((r) => ({ id: String(r.Id), lastname: String(r.LastName), email: (r.Email as string | undefined) ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

const SOURCE_CONFIG = `sources:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
`;

async function setup(extra = ''): Promise<void> {
  sf = await startSalesforceFixture({ accessToken: TOKEN });
  sf.org.clock.set(T0);
  project = await createProject({
    'hightouch-like.config.yaml': `sources:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
`,
    'extracts/contacts.yaml': `source: crm
object: Contact
fields: [LastName, Email]
table: contacts
${extra}`,
  });
}

describe('salesforce extract', () => {
  it('lands a full load, then reads only the changed and deleted records, and the table equals the org', async () => {
    await setup();
    const ids = sf!.org.seed(
      'Contact',
      Array.from({ length: 30 }, (_, i) => ({ LastName: `Last${i}`, Email: `c${i}@example.com` })),
    );
    const project_ = await loadProject(project!.dir, { ...process.env, ...sf!.env() });
    let now = new Date(T0 + 3_600_000);
    const first = await runExtract({ project: project_, now: () => now }, 'contacts');
    expect(first).toMatchObject({ status: 'succeeded', full_load: true, api: 'rest', rows_read: 30, rows_deleted: 0 });
    expect(await landed(project!.dir, 'select id, lastname, email from contacts order by id')).toEqual(orgContacts());

    sf!.org.clock.set(T0 + 7_200_000);
    const store = sf!.org.sobject('Contact')!;
    store.apply(ids[3], { LastName: 'Changed3' });
    store.apply(ids[7], { Email: null });
    store.remove(ids[10]);
    sf!.org.seed('Contact', [{ LastName: 'New', Email: 'new@example.com' }]);
    // getDeleted covers whole minutes up to the org's now: the run comes a minute later.
    sf!.org.clock.set(T0 + 7_260_000);
    sf!.resetStats();
    now = new Date(T0 + 7_260_000);
    const second = await runExtract({ project: project_, now: () => now }, 'contacts');
    expect(second).toMatchObject({ status: 'succeeded', full_load: false, api: 'rest', rows_read: 3, rows_deleted: 1 });
    expect(await landed(project!.dir, 'select id, lastname, email from contacts order by id')).toEqual(orgContacts());
    // describe, count, getDeleted, one query page
    expect(second.api_calls).toBe(4);
    const runs = await readStateStore(
      project!.dir,
      'select status, rows_read, rows_deleted, api_calls from extract_runs order by started_at',
    );
    expect(runs.map((r) => Number(r.rows_read))).toEqual([30, 3]);
  });

  it('stops at max_calls_per_run as deferred with the landed pages kept, and the next run reads the rest', async () => {
    await setup('max_calls_per_run: 3\napi: rest\n');
    sf!.org.seed(
      'Contact',
      Array.from({ length: 2_500 }, (_, i) => ({ LastName: `Last${i}`, Email: `c${i}@example.com` })),
    );
    sf!.org.clock.set(T0 + 3_600_000);
    const env = { ...process.env, ...sf!.env() };
    // describe, count, the first page of 2,000: the budget is spent, the second page waits.
    const first = await runExtract({ project: await loadProject(project!.dir, env), now: () => new Date(T0 + 3_600_000) }, 'contacts');
    expect(first).toMatchObject({ status: 'deferred', rows_read: 2_000, api_calls: 3, cursor_to: new Date(T0).toISOString() });
    expect(await landed(project!.dir, 'select count(*)::int as n from contacts')).toEqual([{ n: 2_000 }]);

    await project!.write('extracts/contacts.yaml', 'source: crm\nobject: Contact\nfields: [LastName, Email]\ntable: contacts\napi: rest\n');
    const second = await runExtract({ project: await loadProject(project!.dir, env), now: () => new Date(T0 + 3_660_000) }, 'contacts');
    expect(second.status).toBe('succeeded');
    expect(await landed(project!.dir, 'select id, lastname, email from contacts order by id')).toEqual(orgContacts());
  });

  it('types columns from the describe, keeps every digit and instant, and adds a column for a field that appears', async () => {
    sf = await startSalesforceFixture({
      accessToken: TOKEN,
      objects: [
        {
          name: 'Invoice__c',
          keyPrefix: 'a01',
          fields: [
            { name: 'Name' },
            { name: 'Amount__c', type: 'currency', precision: 18, scale: 2 },
            { name: 'Lines__c', type: 'int' },
            { name: 'Paid__c', type: 'boolean' },
            { name: 'Due__c', type: 'date' },
            { name: 'Sent__c', type: 'datetime' },
            { name: 'Note__c', state: 'noRead' },
          ],
        },
      ],
    });
    sf.org.clock.set(T0);
    const [id] = sf.org.seed('Invoice__c', [
      {
        Name: "O'Brien; drop table x --",
        Amount__c: '1234567890123456.78',
        Lines__c: 2147483647,
        Paid__c: true,
        Due__c: '2026-02-28',
        Sent__c: '2026-03-01T23:30:00.000+0000',
        Note__c: 'hidden',
      },
    ]);
    sf.org.clock.set(T0 + 3_600_000);
    project = await createProject({
      'hightouch-like.config.yaml': SOURCE_CONFIG,
      'extracts/invoices.yaml': 'source: crm\nobject: Invoice__c\nfields: all\ntable: invoices\n',
    });
    const p = await loadProject(project.dir, { ...process.env, ...sf.env() });
    expect((await runExtract({ project: p, now: () => new Date(T0 + 3_600_000) }, 'invoices')).status).toBe('succeeded');
    const sql = `select id, name, amount__c::varchar as amount, typeof(amount__c) as amount_type, lines__c, typeof(lines__c) as lines_type,
      paid__c, due__c::varchar as due, epoch_ms(sent__c) as sent from invoices`;
    expect(await landed(project.dir, sql)).toEqual([
      {
        id,
        name: "O'Brien; drop table x --",
        amount: '1234567890123456.78',
        amount_type: 'DECIMAL(18,2)',
        lines__c: 2147483647n,
        lines_type: 'BIGINT',
        paid__c: true,
        due: '2026-02-28',
        sent: BigInt(Date.parse('2026-03-01T23:30:00Z')),
      },
    ]);
    const columns = async () =>
      (await landed(project!.dir, "select column_name from duckdb_columns() where table_name = 'invoices'")).map((r) => r.column_name);
    expect(await columns()).not.toContain('note__c');

    // The field becomes readable: the next run adds its column and fills it for the records it reads.
    sf.org.setFieldReadable('Invoice__c', 'Note__c', true);
    sf.org.clock.set(T0 + 7_200_000);
    sf.org.sobject('Invoice__c')!.apply(id, { Note__c: 'now visible' });
    sf.org.clock.set(T0 + 7_260_000);
    expect((await runExtract({ project: p, now: () => new Date(T0 + 7_260_000) }, 'invoices')).status).toBe('succeeded');
    expect(await columns()).toContain('note__c');
    expect(await landed(project.dir, 'select note__c from invoices')).toEqual([{ note__c: 'now visible' }]);
  });
});
