/**
 * Salesforce Bulk API 2.0 through the real CLI and real jsforce (`conn.bulk2`), against the emulator's
 * ingest routes: large runs go as jobs, their per-record results land in the snapshot and the
 * failed-row index, `api: auto` switches at its threshold, and a run killed mid-job loses and
 * duplicates nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ObjectSpec } from '../emulators/salesforce/emulator.js';
import type { WriteTarget } from '../connectors/destination.js';
import { BulkIngest } from '../connectors/destinations/salesforce/bulk-ingest.js';
import { openConnection } from '../connectors/salesforce/connection.js';
import { readSalesforceTarget } from '../connectors/destinations/salesforce/settings.js';
import { ExactNumber } from '../shared/exact-json.js';
import { createProject, logEvents, readStateStore, type TestProject } from './support/project.js';
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
  objects?: ObjectSpec[];
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

/** Reads the state store directly (the CLI has exited, so its file lock is free). */
const state = (sqlText: string) => readStateStore(project!.dir, sqlText);

const routes = () => sf!.writes.map((w) => w.route);

describe('salesforce Bulk API 2.0', { timeout: 300_000 }, () => {
  it('writes 50,000 rows as one job: the org equals the model but the 1% rejected, which are failed rows with their code', async () => {
    const rows = 50_000;
    await setup({ rows, badEvery: 100 });
    const first = await run();
    expect(first.code, first.stderr).toBe(2);
    const rejected = rows / 100;
    expect(first.report).toMatchObject({ status: 'completed_with_errors', succeeded: rows - rejected, failed: rejected });
    // GET /limits (README "API budget"), then one job: create, upload, close, 2 polls (UploadComplete →
    // InProgress → JobComplete), 2 result reads.
    expect(first.report.api_calls).toBe(8);
    expect(sf!.apiUsed).toBe(8 + 1);
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
    expect(Number(runs[0].api_calls)).toBe(8);
    expect(await state('select * from bulk_jobs')).toEqual([]);
    expect(await state('select * from bulk_job_rows')).toEqual([]);
  });
});

/** An object whose key field is not unique: an insert sent twice makes two records of the same key. */
const SIGNUP: ObjectSpec = {
  name: 'Signup__c',
  keyPrefix: 'a01',
  fields: [
    { name: 'Key__c', label: 'Key', length: 80, custom: true },
    { name: 'Email__c', label: 'Email', type: 'email', length: 80, custom: true },
  ],
};

const insertSync = `model: contacts
destination: crm
primary_key: id
mode: insert
object: Signup__c
api: bulk
bulk_job_size: 2000
mapping:
  Key__c: id
  Email__c: email
`;

/** Starts a run and SIGKILLs it once `ready` holds; a run that ends first fails the test. */
async function killWhen(ready: () => boolean) {
  const child = project!.spawn(['run', 'contacts'], env());
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  while (!ready()) {
    if (exited) throw new Error(`the run ended before the kill point (exit ${await exit}): ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  await exit;
}

/** Each key once in the org, and every key of the model there. */
function expectEachKeyOnce(rows: number) {
  const keys = [...sf!.org.records('Signup__c').values()].map((r) => String(r.Key__c));
  expect(keys).toHaveLength(rows);
  expect(new Set(keys).size).toBe(rows);
}

describe('salesforce Bulk API 2.0: SIGKILL during a job', { timeout: 300_000 }, () => {
  it('reads the results of the jobs the killed run started: no record twice, none missing, nothing uploaded again', async () => {
    const rows = 3000;
    await setup({ rows, objects: [SIGNUP], sync: insertSync, pollMs: 5 });
    // Jobs stay InProgress while held: the kill lands with both jobs (2,000 + 1,000 rows) running.
    sf!.org.bulk.hold();
    const running = () => [...sf!.org.bulk.jobs.values()].filter((j) => j.state === 'InProgress').length === 2;
    await killWhen(running);
    expect(sf!.org.records('Signup__c').size).toBe(0);
    expect(await state('select count(*)::integer as n from bulk_jobs')).toEqual([{ n: 2 }]);
    expect(await state('select count(*)::integer as n from bulk_job_rows')).toEqual([{ n: rows }]);
    // Salesforce works on after the kill.
    sf!.org.bulk.hold(false);

    const again = await run();
    expect(again.code, again.stderr).toBe(0);
    // Everything was written by the killed run's jobs: this run reads them and has nothing to send.
    expect(again.report).toMatchObject({ status: 'succeeded', sent: 0 });
    const recovered = logEvents(again.stderr).filter((e) => e.msg === 'bulk_job_recovered');
    expect(recovered.map((e) => e.succeeded).sort()).toEqual([1000, 2000]);
    expect(routes()).toEqual(['bulkUpload', 'bulkUpload']);
    expectEachKeyOnce(rows);
    expect(await state('select count(*)::integer as n from sync_snapshots where destination_id is not null')).toEqual([{ n: rows }]);
    expect(await state('select count(*)::integer as n from bulk_jobs')).toEqual([{ n: 0 }]);
  });

  it('aborts a job killed before its upload was acknowledged and sends its rows again', async () => {
    const rows = 3000;
    await setup({ rows, objects: [SIGNUP], sync: insertSync, pollMs: 5 });
    // The upload reaches the emulator but its answer is held, so the client dies with the job Open.
    sf!.latencyMs = 600_000;
    const uploaded = () => [...sf!.org.bulk.jobs.values()].some((j) => j.state === 'Open' && j.rows !== null);
    await killWhen(uploaded);
    sf!.latencyMs = 0;
    const uploadedJobs = [...sf!.org.bulk.jobs.values()].filter((j) => j.rows !== null).map((j) => j.id);
    const emptyJobs = [...sf!.org.bulk.jobs.values()].filter((j) => j.rows === null).map((j) => j.id);
    expect(uploadedJobs.length).toBeGreaterThan(0);

    const again = await run();
    expect(again.code, again.stderr).toBe(0);
    // The killed run's uploaded jobs were aborted, never processed; every row went in this run's jobs.
    for (const id of uploadedJobs) expect(sf!.org.bulk.jobs.get(id)!.state).toBe('Aborted');
    // A job whose creation the killed process sent but never heard back about (the held answers) is
    // unknown to it: it stays Open with no data, which Salesforce never processes and deletes after 7 days.
    for (const id of emptyJobs) {
      const job = sf!.org.bulk.jobs.get(id)!;
      expect(['Aborted', 'Open']).toContain(job.state);
      expect(job.rows).toBeNull();
    }
    expect(again.report).toMatchObject({ status: 'succeeded', succeeded: rows });
    expectEachKeyOnce(rows);
  });
});

describe('salesforce api: auto | rest | bulk', { timeout: 300_000 }, () => {
  it('auto switches to a job at bulk_threshold rows to send, and mirror deletes go by the stored Ids', async () => {
    await setup({ rows: 600, threshold: 300, mode: 'mirror' });
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(logEvents(first.stderr).find((e) => e.msg === 'run_started')).toMatchObject({ job_rows: 100_000 });
    expect(routes()).toEqual(['bulkUpload']);
    expect(sf!.org.records('Contact').size).toBe(600);

    // 299 rows to send: under the threshold, /limits and two collection calls.
    sf!.resetStats();
    await project!.warehouse(`update contacts set last_name = 'Changed' || id where id <= 299`);
    const below = await run();
    expect(below.report).toMatchObject({ status: 'succeeded', succeeded: 299, api_calls: 3 });
    expect(routes()).toEqual(['upsert', 'upsert']);

    // 300: a job again.
    sf!.resetStats();
    await project!.warehouse(`update contacts set last_name = 'Again' || id where id <= 300`);
    const at = await run();
    expect(at.report).toMatchObject({ status: 'succeeded', succeeded: 300, api_calls: 8 });
    expect(routes()).toEqual(['bulkUpload']);
    expect(sf!.org.records('Contact').get(sf!.org.idBy('Contact', 'External_Id__c', 'C-300')!)).toMatchObject({ LastName: 'Again300' });

    // 400 rows leave the model: one delete job by the Ids the first job returned.
    sf!.resetStats();
    await project!.warehouse('delete from contacts where id > 200');
    const deletes = await run('--allow-deletes');
    expect(deletes.report).toMatchObject({ status: 'succeeded', succeeded: 400 });
    expect(routes()).toEqual(['bulkUpload']);
    expect([...sf!.org.bulk.jobs.values()].at(-1)).toMatchObject({ operation: 'delete', numberRecordsProcessed: 400 });
    expect(sf!.org.records('Contact').size).toBe(200);
  });

  it('rest never uses a job, bulk always does past one batch', async () => {
    await setup({ rows: 500, api: 'rest', threshold: 1 });
    const rest = await run();
    expect(rest.report).toMatchObject({ status: 'succeeded', succeeded: 500, api_calls: 4 });
    expect(routes()).toEqual(['upsert', 'upsert', 'upsert']);
    await project!.write(
      'syncs/contacts.yaml',
      (await readFile(join(project!.dir, 'syncs/contacts.yaml'), 'utf8')).replace('api: rest', 'api: bulk'),
    );
    await project!.warehouse(`update contacts set last_name = 'Bulk' || id`);
    sf!.resetStats();
    const bulk = await run();
    expect(bulk.report).toMatchObject({ status: 'succeeded', succeeded: 500, api_calls: 8 });
    expect(routes()).toEqual(['bulkUpload']);
  });
});

describe('salesforce Bulk API 2.0: one job in-process', () => {
  const TYPED: ObjectSpec = {
    name: 'Deal__c',
    keyPrefix: 'a02',
    fields: [
      { name: 'Key__c', length: 80, externalId: true, idLookup: true, unique: true, custom: true },
      { name: 'Note__c', length: 255, custom: true },
      { name: 'Amount__c', type: 'double', custom: true },
      { name: 'Big__c', length: 40, custom: true },
      { name: 'Closed_At__c', type: 'datetime', custom: true },
      { name: 'Won__c', type: 'boolean', custom: true },
    ],
  };

  async function ingest(sleep: (ms: number) => Promise<void>) {
    sf = await startSalesforceFixture({ objects: [TYPED] });
    const target: WriteTarget = {
      destination: { name: 'crm', type: 'salesforce', settings: { instance_url: sf.url, access_token: 'emulator-access-token' } },
      sync: {
        name: 'deals',
        mode: 'upsert',
        keyField: 'Key__c',
        fields: ['Key__c', 'Note__c', 'Amount__c', 'Big__c', 'Closed_At__c', 'Won__c'],
        settings: { object: 'Deal__c', external_id: 'Key__c' },
      },
    };
    const settings = readSalesforceTarget(target);
    return new BulkIngest(await openConnection(settings, { transportRetries: false }), settings, () => [], sleep);
  }

  it('polls with doubling waits from bulk_poll_ms up to 30 s, through an injected sleep, until the job completes', async () => {
    const waits: number[] = [];
    const bulk = await ingest(async (ms) => {
      waits.push(ms);
      // Salesforce finishes the job after the seventh wait.
      if (waits.length === 7) sf!.org.bulk.hold(false);
    });
    sf!.org.bulk.hold();
    const jobId = await bulk.open('update');
    const outcome = await bulk.run(jobId, 'update', [
      {
        key: '1',
        fields: { Key__c: 'K1', Note__c: 'n', Amount__c: 1, Big__c: '1', Closed_At__c: null, Won__c: true },
        destinationId: null,
      },
    ]);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(outcome.results).toEqual([{ key: '1', ok: true, destinationId: expect.stringMatching(/^a02/) }]);
  });

  it('uploads exact values: every digit, UTC datetimes, #N/A for null and empty, quotes, commas and line breaks', async () => {
    const bulk = await ingest(async () => {});
    const jobId = await bulk.open('update');
    const outcome = await bulk.run(jobId, 'update', [
      {
        key: '1',
        fields: {
          Key__c: 'K,1',
          Note__c: 'say "hi",\nthen go',
          Amount__c: new ExactNumber('12345678901234567.89'),
          Big__c: new ExactNumber('9007199254740993'),
          Closed_At__c: '2026-01-01T08:30:00Z',
          Won__c: false,
        },
        destinationId: null,
      },
      {
        key: '2',
        fields: { Key__c: 'K2', Note__c: '', Amount__c: 0.1, Big__c: null, Closed_At__c: null, Won__c: true },
        destinationId: null,
      },
      {
        key: '3',
        fields: { Key__c: 'K3', Note__c: '#N/A', Amount__c: 1, Big__c: '1', Closed_At__c: null, Won__c: true },
        destinationId: null,
      },
    ]);
    const job = sf!.org.bulk.jobs.get(jobId)!;
    expect(job.rows).toEqual([
      ['Key__c', 'Note__c', 'Amount__c', 'Big__c', 'Closed_At__c', 'Won__c'],
      ['K,1', 'say "hi",\nthen go', '12345678901234567.89', '9007199254740993', '2026-01-01T08:30:00Z', 'false'],
      ['K2', '#N/A', '0.1', '#N/A', '#N/A', 'true'],
    ]);
    const byKey = Object.fromEntries(outcome.results.map((r) => [r.key, r]));
    expect(byKey['1']).toMatchObject({ ok: true });
    expect(byKey['2']).toMatchObject({ ok: true });
    // The text #N/A would be stored as null: refused before the upload.
    expect(byKey['3']).toMatchObject({ ok: false, failure: { code: 'SF_BULK_NA_TEXT', errorClass: 'rejected' } });
    const record = sf!.org.records('Deal__c').get(sf!.org.idBy('Deal__c', 'Key__c', 'K2')!);
    expect(record).toMatchObject({ Note__c: null, Big__c: null, Amount__c: 0.1, Won__c: true });
  });
});
