/**
 * Salesforce Bulk API 2.0 through the real CLI and real jsforce (`conn.bulk2`), against the emulator's
 * ingest routes: large runs go as jobs, their per-record results land in the snapshot and the
 * failed-row index, `api: auto` switches at its threshold, and a run killed mid-job loses and
 * duplicates nothing.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, logEvents, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  project = undefined;
  sf = undefined;
});

interface Setup {
  rows: number;
  /** Every `badEvery`-th row has an invalid email (INVALID_EMAIL_ADDRESS). 0: none. */
  badEvery?: number;
  api?: string;
  threshold?: number;
  jobSize?: number;
  mode?: string;
  pollMs?: number;
  objects?: Parameters<typeof startSalesforceFixture>[0] extends infer O ? (O extends { objects?: infer T } ? T : never) : never;
  sync?: string;
}

async function setup(options: Setup) {
  sf = await startSalesforceFixture({ objects: options.objects, apiLimit: 1_000_000 });
  const settings = [
    options.api ? `api: ${options.api}` : '',
    options.threshold ? `bulk_threshold: ${options.threshold}` : '',
    options.jobSize ? `bulk_job_size: ${options.jobSize}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
    api_version: 62.0
    concurrency: 2
    bulk_poll_ms: ${options.pollMs ?? 0}
`,
    'models/contacts.sql': 'select * from contacts',
    'syncs/contacts.yaml':
      options.sync ??
      `model: contacts
destination: crm
primary_key: id
mode: ${options.mode ?? 'upsert'}
object: Contact
external_id: External_Id__c
mapping:
  External_Id__c: ext
  LastName: last_name
  Email: email
${settings}
`,
  });
  const bad = options.badEvery ?? 0;
  await project.warehouse(
    `create table contacts as select range as id, 'C-' || range as ext,
       'Last, "' || range || '"' as last_name,
       case when ${bad} > 0 and range % ${bad || 1} = 0 then 'bad-email-' || range else 'c' || range || '@x.io' end as email
     from range(1, ${options.rows + 1})`,
  );
}

const env = () => sf!.env();

async function run(...args: string[]) {
  const result = await project!.cli(['run', 'contacts', '--json', ...args], env());
  return { ...result, report: result.stdout ? JSON.parse(result.stdout)[0] : null };
}

async function state(sqlText: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(join(project!.dir, '.hightouch-like/state.duckdb'), { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sqlText)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const routes = () => sf!.writes.map((w) => w.route);

describe('salesforce Bulk API 2.0', { timeout: 300_000 }, () => {
  it('writes 50,000 rows as one job: the org equals the model but the 1% rejected, which are failed rows with their code', async () => {
    const rows = 50_000;
    await setup({ rows, badEvery: 100 });
    const first = await run();
    expect(first.code, first.stderr).toBe(2);
    const rejected = rows / 100;
    expect(first.report).toMatchObject({ status: 'completed_with_errors', succeeded: rows - rejected, failed: rejected });
    // One job: create, upload, close, 2 polls (UploadComplete → InProgress → JobComplete), 2 result reads.
    expect(first.report.api_calls).toBe(7);
    expect(sf!.apiUsed).toBe(7 + 1);
    expect(routes()).toEqual(['bulkUpload']);

    const contacts = sf!.org.records('Contact');
    expect(contacts.size).toBe(rows - rejected);
    for (let id = 1; id <= rows; id++) {
      const recordId = sf!.org.idBy('Contact', 'External_Id__c', `C-${id}`);
      if (id % 100 === 0) expect(recordId).toBeUndefined();
      else expect(contacts.get(recordId!)).toMatchObject({ LastName: `Last, "${id}"`, Email: `c${id}@x.io` });
    }
    const failed = await state(`select primary_key, error_code, error_class from failed_rows order by cast(primary_key as integer)`);
    expect(failed).toHaveLength(rejected);
    expect(failed[0]).toMatchObject({ primary_key: '100', error_code: 'SF_INVALID_EMAIL_ADDRESS', error_class: 'rejected' });
    const ids = await state(`select count(*)::integer as n from sync_snapshots where destination_id like '003%'`);
    expect(ids[0].n).toBe(rows - rejected);
    const runs = await state('select api_calls from sync_runs');
    expect(Number(runs[0].api_calls)).toBe(7);
    expect(await state('select * from bulk_jobs')).toEqual([]);
    expect(await state('select * from bulk_job_rows')).toEqual([]);
  });
});
