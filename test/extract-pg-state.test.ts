/**
 * PostgreSQL state with a DuckDB warehouse: the extract opens the landing file only while it lands a
 * page, so a sync run (another opener of the file) reads `landed.contacts` between extracts; the
 * extract tables live in the PostgreSQL state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { runExtract } from '../core/extract/run-extract.js';
import { RunController } from '../core/run/controller.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';

const TOKEN = 'sf-pgstate-token-4d5e6f7a';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const admin = usePgAdmin();
const schema = `extract_state_${process.pid}`;

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
let sink: HttpSink | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  await sink?.close();
  await admin.query(`drop schema if exists ${schema} cascade`);
  project = sf = sink = undefined;
});

describe('extract with PostgreSQL state and a DuckDB warehouse', () => {
  it('lands Contacts in the landing file, records the run in PostgreSQL, and a sync reads landed.contacts', async () => {
    await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    sf = await startSalesforceFixture({ accessToken: TOKEN });
    sink = await startHttpSink();
    sf.org.clock.set(T0);
    sf.org.seed(
      'Contact',
      Array.from({ length: 25 }, (_, i) => ({ LastName: `Last${i}`, Email: `c${i}@example.com` })),
    );
    sf.org.clock.set(T0 + 3_600_000);
    project = await createProject({
      'hightouch-like.config.yaml': `state: { type: postgres, url: "${PG_BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}" }
sources:
  crm: { type: salesforce, instance_url: "\${SF_URL}", access_token: "\${SF_TOKEN}" }
destinations:
  api: { type: http, url: "\${SINK_URL}" }
`,
      'extracts/contacts.yaml': 'source: crm\nobject: Contact\nfields: [LastName, Email]\ntable: contacts\n',
      'models/emails.sql': 'select id, email from landed.contacts',
      'syncs/emails.yaml': 'model: emails\ndestination: api\nprimary_key: id\nmapping: { email: email }\n',
    });
    const p = await loadProject(project.dir, { ...process.env, ...sf.env(), SINK_URL: sink.url });
    const report = await runExtract({ project: p, now: () => new Date(T0 + 3_600_000) }, 'contacts');
    expect(report).toMatchObject({ status: 'succeeded', rows_read: 25 });
    const { rows } = await admin.query(`select status, rows_read from ${schema}.extract_runs`);
    expect(rows).toEqual([{ status: 'succeeded', rows_read: '25' }]);

    const controller = new RunController();
    try {
      const result = await controller.start(p, { syncs: ['emails'], onEvent: () => {} }).result;
      expect(result.reports[0]).toMatchObject({ status: 'succeeded', succeeded: 25 });
    } finally {
      await controller.close();
    }
    expect(sink.rows.size).toBe(25);
  });
});
