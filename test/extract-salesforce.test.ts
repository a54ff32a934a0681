/**
 * Extracts from the Salesforce emulator through real jsforce, in process: a first full load, then an
 * incremental run that reads only what changed and applies deletes, into DuckDB and into PostgreSQL;
 * the landed table equals the org after each run.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { runExtract } from '../core/extract/run-extract.js';
import { createProject, readStateStore, type TestProject } from './support/project.js';
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

async function landed(dir: string, sqlText: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(join(dir, '.hightouch-like', 'landed.duckdb'), { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sqlText)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function orgContacts(): Array<{ id: string; lastname: string; email: string | null }> {
  return [...sf!.org.records('Contact').values()]
    .map((r) => ({ id: String(r.Id), lastname: String(r.LastName), email: (r.Email as string | undefined) ?? null }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

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
});
