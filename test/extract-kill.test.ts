/**
 * SIGKILL during a Bulk API 2.0 query extract (the CLI, killed once several result pages have been
 * served): the rerun reads on from the committed cursor, less the overlap, not from the start, and the
 * landed table then equals the org with each Id once.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const TOKEN = 'sf-kill-token-3c4d5e6f7a8b';
const T0 = Date.parse('2026-03-02T09:00:00Z');
const N = 20_000;

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  project = sf = undefined;
});

describe('salesforce extract: SIGKILL during a Bulk API query', { timeout: 300_000 }, () => {
  it('reruns from the committed cursor and lands every record once', async () => {
    sf = await startSalesforceFixture({ accessToken: TOKEN });
    // Records stamped 10 minutes apart in chunks of 1,000: a rerun can start past what is landed.
    for (let chunk = 0; chunk < N / 1_000; chunk++) {
      sf.org.clock.set(T0 + chunk * 600_000);
      sf.org.seed(
        'Contact',
        Array.from({ length: 1_000 }, (_, i) => ({ LastName: `Last${chunk}-${i}`, Email: `c${chunk}-${i}@example.com` })),
      );
    }
    sf.org.clock.set(T0 + N * 600);
    project = await createProject({
      'hightouch-like.config.yaml': `sources:
  crm: { type: salesforce, instance_url: "\${SF_URL}", access_token: "\${SF_TOKEN}", bulk_poll_ms: 0, bulk_page_size: 500 }
`,
      'extracts/contacts.yaml': 'source: crm\nobject: Contact\nfields: [LastName, Email]\ntable: contacts\napi: bulk\n',
    });
    const child = project.spawn(['extract', 'contacts'], sf.env());
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.resume();
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.on('close', () => {
        exited = true;
        resolve();
      }),
    );
    const pages = () => sf!.reads.filter((r) => r.route === 'bulkQueryResults' && r.status === 200).length;
    while (pages() < 20) {
      if (exited) throw new Error(`the extract ended before the kill point: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    await exit;
    const landedBefore = pages() * 500;

    const rerun = await project.cli(['extract', 'contacts', '--json'], sf.env());
    expect(rerun.code, rerun.stderr).toBe(0);
    const [report] = JSON.parse(rerun.stdout) as Array<{ status: string; rows_read: number; full_load: boolean }>;
    expect(report.status).toBe('succeeded');
    // Read on from the cursor, not from the start: of the pages served before the kill, all but the one
    // fetched ahead and the one landing were committed; the 5-minute overlap re-reads one chunk at most.
    expect(report.full_load).toBe(false);
    expect(report.rows_read).toBeLessThanOrEqual(N - landedBefore + 2 * 500 + 1_000);

    const instance = await DuckDBInstance.create(join(project.dir, '.hightouch-like', 'landed.duckdb'), { access_mode: 'READ_ONLY' });
    const connection = await instance.connect();
    const rows = (await connection.runAndReadAll('select id, lastname from contacts order by id')).getRowObjectsJS() as Array<{
      id: string;
      lastname: string;
    }>;
    const counts = (
      await connection.runAndReadAll('select count(*)::int as n, count(distinct id)::int as d from contacts')
    ).getRowObjectsJS();
    connection.closeSync();
    instance.closeSync();
    expect(counts).toEqual([{ n: N, d: N }]);
    const orgRows = [...sf.org.records('Contact').values()]
      .map((r) => ({ id: String(r.Id), lastname: String(r.LastName) }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(rows).toEqual(orgRows);
    // `query` reads the extract tables; `status` lists the extract under the syncs.
    const runs = await project.cli(['query', '--json', 'select status from extract_runs order by started_at'], sf.env());
    expect(JSON.parse(runs.stdout).map((r: { status: string }) => r.status)).toEqual(['failed', 'succeeded']);
    const status = await project.cli(['status'], sf.env());
    expect(status.stdout).toMatch(/contacts\s+\|?\s*succeeded/);
  });
});
