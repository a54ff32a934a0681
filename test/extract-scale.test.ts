/**
 * The must-show at its size: 100,000 Contacts landed (a Bulk API 2.0 query job, chosen by the
 * count), then 1,000 changed and 100 deleted in the emulator: the next run reads only those, through
 * REST (the API calls are counted), and the table equals the org. Into DuckDB, and into PostgreSQL.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { runExtract } from '../core/extract/run-extract.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const TOKEN = 'sf-scale-token-9f8e7d6c5b4a';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;
const N = 100_000;
const SLOW = 240_000;

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  project = sf = undefined;
});
const admin = usePgAdmin();

type Row = { id: string; lastname: string; email: string | null };

function org(): Row[] {
  return [...sf!.org.records('Contact').values()]
    .map((r) => ({ id: String(r.Id), lastname: String(r.LastName), email: (r.Email as string | undefined) ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function duckTable(): Promise<Row[]> {
  const instance = await DuckDBInstance.create(join(project!.dir, '.hightouch-like', 'landed.duckdb'), { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll('select id, lastname, email from contacts order by id')).getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function scenario(config: string, read: () => Promise<Row[]>): Promise<void> {
  sf = await startSalesforceFixture({ accessToken: TOKEN });
  sf.org.clock.set(T0);
  project = await createProject({
    'hightouch-like.config.yaml': `${config}
sources:
  crm: { type: salesforce, instance_url: "\${SF_URL}", access_token: "\${SF_TOKEN}", bulk_poll_ms: 0 }
`,
    'extracts/contacts.yaml': 'source: crm\nobject: Contact\nfields: [LastName, Email]\ntable: contacts\n',
  });
  const ids = sf.org.seed(
    'Contact',
    Array.from({ length: N }, (_, i) => ({ LastName: `Last${i}`, Email: `c${i}@example.com` })),
  );
  sf.org.clock.set(T0 + HOUR);
  const p = await loadProject(project.dir, { ...process.env, ...sf.env() });

  const first = await runExtract({ project: p, now: () => new Date(T0 + HOUR) }, 'contacts');
  expect(first).toMatchObject({ status: 'succeeded', full_load: true, api: 'bulk', rows_read: N });
  expect(await read()).toEqual(org());

  sf.org.clock.set(T0 + 2 * HOUR);
  const contacts = sf.org.sobject('Contact')!;
  // Even indexes change, odd ones go: no record does both.
  for (let i = 0; i < 1_000; i++) contacts.apply(ids[i * 98], { LastName: `Changed${i}` });
  for (let i = 0; i < 100; i++) contacts.remove(ids[i * 998 + 1]);
  sf.org.clock.set(T0 + 2 * HOUR + 60_000);
  sf.resetStats();
  const second = await runExtract({ project: p, now: () => new Date(T0 + 2 * HOUR + 60_000) }, 'contacts');
  expect(second).toMatchObject({ status: 'succeeded', full_load: false, api: 'rest', rows_read: 1_000, rows_deleted: 100 });
  // describe, count, getDeleted, one query page of 1,000: what the emulator saw, and what the run counted.
  expect(second.api_calls).toBe(4);
  expect(sf.stats.requests).toBe(4);
  expect(await read()).toEqual(org());
}

describe('salesforce extract at 100,000 records', () => {
  it(
    'lands 100,000 Contacts in DuckDB, then reads only the 1,000 changed and 100 deleted',
    async () => {
      await scenario('', duckTable);
    },
    SLOW,
  );

  it(
    'does the same into a PostgreSQL warehouse schema',
    async () => {
      const schema = `landed_${process.pid}`;
      await admin.query(`drop schema if exists ${schema} cascade`);
      try {
        await scenario(`warehouse: { type: postgres, url: "${PG_BASE}" }\nlanding: { schema: ${schema} }`, async () => {
          const { rows } = await admin.query<Row>(`select id, lastname, email from ${schema}.contacts order by id collate "C"`);
          return rows;
        });
      } finally {
        await admin.query(`drop schema if exists ${schema} cascade`);
      }
    },
    SLOW,
  );
});
