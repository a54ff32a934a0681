/**
 * The salesforce destination through the real CLI and real jsforce, against the loopback Salesforce
 * emulator: Ids kept as destination ids, incremental and mirror runs, the error catalogue's classes
 * as the engine acts on them, token refresh, and the 200-record collection cap. Each run's `api_calls`
 * include the GET /limits it reads the org's API usage with (README "API budget").
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DestinationError, type DestinationClient, type OutboundRow, type WriteTarget } from '../connectors/destination.js';
import { salesforceDestination } from '../connectors/destinations/salesforce/salesforce-destination.js';
import { createProject, readStateStore, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const TOKEN = 'sf-access-7f3e9a1c5b2d4e6f';
const REFRESH = 'sf-refresh-0a9b8c7d6e5f';
const SECRET = 'sf-client-secret-11223344';
/** The emulator accepts these; `sf.env()` hands them to the project as SF_URL, SF_TOKEN, SF_REFRESH, SF_SECRET. */
const CREDENTIALS = { accessToken: TOKEN, refreshToken: REFRESH, clientId: 'htl-test', clientSecret: SECRET };

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
/** A PostgreSQL schema holding a test's state store, when it keeps its state there. */
let pgSchema: string | undefined;
const pgAdmin = usePgAdmin();
const clients: DestinationClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await project?.remove();
  await sf?.close();
  if (pgSchema) await pgAdmin.query(`drop schema if exists ${pgSchema} cascade`);
  project = undefined;
  sf = undefined;
  pgSchema = undefined;
});

interface Setup {
  rows: number;
  mode?: string;
  /** Configure refresh_token + client_id (default true). */
  refresh?: boolean;
  sync?: string;
  retry?: string;
}

const syncFile = (mode: string, retry: string) => `model: contacts
destination: crm
primary_key: id
mode: ${mode}
object: Contact
external_id: External_Id__c
mapping:
  External_Id__c: ext
  LastName: last_name
  Email: email
retry: ${retry}
`;

async function setup(options: Setup): Promise<{ sf: SalesforceFixture; project: TestProject }> {
  const emulator = await startSalesforceFixture(CREDENTIALS);
  sf = emulator;
  const oauth =
    options.refresh === false
      ? ''
      : '    refresh_token: ${SF_REFRESH}\n    client_id: htl-test\n    client_secret: ${SF_SECRET}\n    login_url: ${SF_URL}\n';
  project = await createProject({
    'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
${oauth}    api_version: 62.0
    concurrency: 2
`,
    'models/contacts.sql': 'select * from contacts',
    'syncs/contacts.yaml':
      options.sync ?? syncFile(options.mode ?? 'upsert', options.retry ?? '{ attempts: 4, base_delay_ms: 1, max_delay_ms: 5 }'),
  });
  await project.warehouse(
    `create table contacts as select range as id, 'C-' || range as ext, 'Last' || range as last_name, 'c' || range || '@x.io' as email from range(1, ${options.rows + 1})`,
  );
  return { sf: emulator, project };
}

const env = () => sf!.env();

async function run(...args: string[]) {
  const result = await project!.cli(['run', 'contacts', '--json', ...args], env());
  return { ...result, report: result.stdout ? JSON.parse(result.stdout)[0] : null };
}

/** Reads the state store directly (the CLI has exited, so its file lock is free). */
const state = (sqlText: string) => readStateStore(project!.dir, sqlText);

const contact = (ext: string) => sf!.org.records('Contact').get(sf!.org.idBy('Contact', 'External_Id__c', ext)!);

describe('salesforce destination: runs through the CLI', () => {
  it('creates records and keeps their Ids, retries a locked record alone, then sends only changes and deletes by Id', async () => {
    await setup({ rows: 5, mode: 'mirror' });
    sf!.org.addRule({
      field: 'LastName',
      value: 'Last3',
      statusCode: 'UNABLE_TO_LOCK_ROW',
      message: 'unable to obtain exclusive access to this record',
      times: 2,
    });
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    // The whole batch, then the locked record alone, twice.
    expect(first.report).toMatchObject({ status: 'succeeded', succeeded: 5, failed: 0, api_calls: 4 });
    expect(sf!.writes.map((w) => [w.route, w.object, w.records, w.status])).toEqual([
      ['upsert', 'Contact', 5, 200],
      ['upsert', 'Contact', 1, 200],
      ['upsert', 'Contact', 1, 200],
    ]);
    expect(contact('C-3')).toMatchObject({ LastName: 'Last3', Email: 'c3@x.io' });
    const snapshots = await state('select primary_key, destination_id from sync_snapshots order by primary_key');
    expect(snapshots).toHaveLength(5);
    for (const { primary_key, destination_id } of snapshots) {
      expect(destination_id).toMatch(/^003[0-9A-Za-z]{15}$/);
      expect(destination_id).toBe(sf!.org.idBy('Contact', 'External_Id__c', `C-${String(primary_key)}`));
    }

    const gone = sf!.org.idBy('Contact', 'External_Id__c', 'C-2')!;
    // C-4 was deleted in Salesforce by hand: deleting it again counts as done.
    sf!.org.destroy([sf!.org.idBy('Contact', 'External_Id__c', 'C-4')!], false);
    await project!.warehouse(`update contacts set email = 'new1@x.io' where id = 1; delete from contacts where id in (2, 4)`);
    // jsforce would re-send a failed DELETE itself for up to ~15 s, uncounted; the engine's retry does it instead.
    sf!.failNext('delete', 1, 503, [{ message: 'Server Unavailable', errorCode: 'SERVER_UNAVAILABLE' }]);
    sf!.resetStats();
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.plan).toMatchObject({ changed: 1, removed: 2, planned: 3 });
    expect(second.report).toMatchObject({ succeeded: 3, failed: 0, api_calls: 4 });
    expect(sf!.writes.map((w) => [w.route, w.records, w.status]).sort()).toEqual([
      ['delete', 2, 200],
      ['delete', 2, 503],
      ['upsert', 1, 200],
    ]);
    expect(contact('C-1')).toMatchObject({ Email: 'new1@x.io' });
    expect(sf!.org.records('Contact').has(gone)).toBe(false);
    expect(sf!.org.records('Contact').size).toBe(3);
    expect(await state('select primary_key from sync_snapshots order by 1')).toEqual([
      { primary_key: '1' },
      { primary_key: '3' },
      { primary_key: '5' },
    ]);
  });

  it.each(['rest', 'bulk'])(
    'mirror (%s): a record whose External ID moved to a new key is kept, not deleted after the new key took it over',
    async (api) => {
      // The delete goes by the stored Id and the write by External ID, so the plan cannot see that they
      // address one record; the run checks before the delete, once the write is acknowledged with its Id.
      // With `bulk_job_size: 2` and `batch_size: 1` the two new keys' upserts go as one Bulk API job.
      const bulk = api === 'bulk' ? 'api: bulk\nbulk_job_size: 2\nbatch_size: 1\n' : '';
      await setup({ rows: 5, mode: 'mirror', sync: syncFile('mirror', '{ attempts: 4, base_delay_ms: 1, max_delay_ms: 5 }') + bulk });
      const config = await readFile(join(project!.dir, 'hightouch-like.config.yaml'), 'utf8');
      await project!.write(
        'hightouch-like.config.yaml',
        config.replace('    concurrency: 2\n', '    concurrency: 2\n    bulk_poll_ms: 0\n'),
      );
      expect((await run()).report).toMatchObject({ succeeded: 5 });
      const id = sf!.org.idBy('Contact', 'External_Id__c', 'C-1')!;
      // Two keys leave and two come: the moved one and another, so that the deletes make a batch of two.
      await project!.warehouse(`delete from contacts where id in (1, 2);
      insert into contacts values (7001, 'C-1', 'Moved', 'moved@x.io'), (7002, 'C-7002', 'New', 'new@x.io')`);
      sf!.resetStats();
      const second = await run();
      expect(second.code, second.stderr).toBe(0);
      expect(second.report.plan).toMatchObject({ added: 2, removed: 2, to_delete: 2 });
      expect(second.report).toMatchObject({ sent: 3, succeeded: 3, failed: 0 });
      // Key 2's delete alone: key 1's record is 7001's now.
      expect(sf!.writes.map((w) => [w.route, w.records])).toEqual([
        [api === 'bulk' ? 'bulkUpload' : 'upsert', 2],
        ['delete', 1],
      ]);
      expect(second.stderr).toContain('"msg":"deletes_superseded"');
      expect(sf!.org.idBy('Contact', 'External_Id__c', 'C-2')).toBeUndefined();
      expect(sf!.org.records('Contact').get(id)).toMatchObject({ External_Id__c: 'C-1', LastName: 'Moved' });
      const idOf = (ext: string) => sf!.org.idBy('Contact', 'External_Id__c', ext);
      expect(await state('select primary_key, destination_id from sync_snapshots order by primary_key')).toEqual([
        { primary_key: '3', destination_id: idOf('C-3') },
        { primary_key: '4', destination_id: idOf('C-4') },
        { primary_key: '5', destination_id: idOf('C-5') },
        { primary_key: '7001', destination_id: id },
        { primary_key: '7002', destination_id: idOf('C-7002') },
      ]);
      // Key 1 is forgotten, not deleted later.
      const third = await run();
      expect(third.report.plan).toMatchObject({ planned: 0, snapshot_rows: 5 });
      expect(sf!.org.records('Contact').get(id)).toMatchObject({ LastName: 'Moved' });
    },
  );

  it.each([
    ['duckdb', 'an update of it failed'],
    ['duckdb', 'its delete failed'],
    ['postgres', 'an update of it failed'],
    ['postgres', 'its delete failed'],
  ] as const)(
    'mirror (%s state): a held delete takes its key out of failed_rows in the same run, when %s before',
    async (stateType, cause) => {
      // Key 1 is in the failed-row index when its External ID moves to new key 7001: the run forgets key
      // 1 without sending its delete (7001's upsert took its record over), and the key is settled. Its
      // failed row must go in that run, not linger as "failing" until the next run's plan drops it.
      await setup({ rows: 5, mode: 'mirror' });
      if (stateType === 'postgres') {
        pgSchema = `htl_sf_held_${process.pid}_${Date.now()}`;
        await pgAdmin.query(`create schema ${pgSchema}`);
        const url = `${PG_BASE}?options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
        const config = await readFile(join(project!.dir, 'hightouch-like.config.yaml'), 'utf8');
        await project!.write('hightouch-like.config.yaml', `state: { type: postgres, url: "${url}" }\n${config}`);
      }
      const query = async (text: string) => {
        const result = await project!.cli(['query', text, '--json'], env());
        expect(result.code, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
      };
      const failedRows = () => query('select primary_key, op, error_code from failed_rows order by 1');
      expect((await run()).report).toMatchObject({ succeeded: 5 });
      const id = sf!.org.idBy('Contact', 'External_Id__c', 'C-1')!;

      if (cause === 'an update of it failed') {
        await project!.warehouse(`update contacts set email = 'not-an-email' where id = 1`);
        expect((await run()).report).toMatchObject({ failed: 1 });
        expect(await failedRows()).toEqual([{ primary_key: '1', op: 'update', error_code: 'SF_INVALID_EMAIL_ADDRESS' }]);
        await project!.warehouse(`delete from contacts where id = 1`);
      } else {
        await project!.warehouse(`delete from contacts where id = 1`);
        sf!.org.addRule({ field: 'LastName', value: 'Last1', statusCode: 'INSUFFICIENT_ACCESS_OR_READONLY', times: 1 });
        expect((await run()).report).toMatchObject({ failed: 1, plan: { to_delete: 1 } });
        expect(await failedRows()).toEqual([{ primary_key: '1', op: 'delete', error_code: 'SF_INSUFFICIENT_ACCESS_OR_READONLY' }]);
      }

      // 7001 takes C-1: its upsert by External ID takes key 1's record over, so key 1's delete is held.
      await project!.warehouse(`insert into contacts values (7001, 'C-1', 'Moved', 'moved@x.io')`);
      sf!.resetStats();
      const held = await run();
      expect(held.code, held.stderr).toBe(0);
      expect(held.report.plan).toMatchObject({ added: 1, to_delete: 1, retrying: 1 });
      expect(held.report).toMatchObject({ status: 'succeeded', sent: 1, succeeded: 1, failed: 0 });
      expect(sf!.writes.map((w) => w.route)).toEqual(['upsert']);
      expect(held.stderr).toContain('"msg":"deletes_superseded"');
      expect(sf!.org.records('Contact').get(id)).toMatchObject({ External_Id__c: 'C-1', LastName: 'Moved' });
      // Settled in this run: no failed row for key 1, and nothing failing in `status`.
      expect(await failedRows()).toEqual([]);
      const status = JSON.parse((await project!.cli(['status', '--json'], env())).stdout);
      expect(status[0]).toMatchObject({ sync: 'contacts', failed_rows: 0, synced_rows: 5 });
    },
  );

  it('records refused records in failed_rows with their code, retries a changed one next run with its latest values, and leaves an unchanged blocked one unsent', async () => {
    await setup({ rows: 5 });
    await project!.warehouse(`update contacts set email = 'not-an-email' where id = 2; update contacts set last_name = null where id = 4`);
    const first = await run();
    expect(first.code).toBe(2);
    // Refused per record in one call: no batch splitting.
    expect(first.report).toMatchObject({ status: 'completed_with_errors', succeeded: 3, failed: 2, api_calls: 2 });
    expect(await state('select primary_key, error_class, error_code, attempts from failed_rows order by 1')).toEqual([
      { primary_key: '2', error_class: 'rejected', error_code: 'SF_INVALID_EMAIL_ADDRESS', attempts: 1 },
      { primary_key: '4', error_class: 'rejected', error_code: 'SF_REQUIRED_FIELD_MISSING', attempts: 1 },
    ]);

    await project!.warehouse(`update contacts set email = 'fixed2@x.io' where id = 2`);
    const second = await run();
    // 4 is blocked (SF_REQUIRED_FIELD_MISSING cannot pass with the same values): not sent until it changes.
    expect(second.code).toBe(0);
    expect(second.report.plan).toMatchObject({ retrying: 1, blocked: 1, planned: 1 });
    expect(sf!.writes[1].records).toBe(1);
    expect(contact('C-2')).toMatchObject({ Email: 'fixed2@x.io' });
    expect(await state('select primary_key, attempts, status from failed_rows')).toEqual([
      { primary_key: '4', attempts: 1, status: 'blocked' },
    ]);
  });

  it('refreshes an expired token once and replays the call', async () => {
    await setup({ rows: 3 });
    // Expires after the CLI's own describe, so the write call is the one refused.
    sf!.beforeNextWrite(() => sf!.expireToken());
    const { code, report } = await run();
    expect(code).toBe(0);
    // GET /limits at the start, then 401, the refresh grant, the replay.
    expect(report).toMatchObject({ succeeded: 3, api_calls: 4 });
    expect(sf!.stats.refreshes).toBe(1);
    expect(sf!.writes.map((w) => w.status)).toEqual([401, 200]);
    expect(sf!.org.records('Contact').size).toBe(3);
  });

  it('stops the run on an expired token it cannot refresh, without leaking the token', async () => {
    await setup({ rows: 4, refresh: false });
    sf!.beforeNextWrite(() => sf!.expireToken());
    const { code, report, stderr, stdout } = await run();
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.error).toContain('SF_INVALID_SESSION_ID');
    expect(stdout + stderr).not.toContain(TOKEN);
    expect(await state('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
    expect(await state('select distinct status from sync_changelog')).toEqual([{ status: 'aborted' }]);
    expect(JSON.stringify(await state('select run_id, status, error from sync_runs'))).not.toContain(TOKEN);
  });

  it('a mapped field deleted after the check is schema drift for every row, answered in one call, then healed', async () => {
    await setup({ rows: 4 });
    sf!.beforeNextWrite(() => sf!.org.setFieldState('Contact', 'Email', 'deleted'));
    const { code, report } = await run();
    expect(code).toBe(0);
    // limits, the refused write, a describe to heal, the write without Email.
    expect(report).toMatchObject({ failed: 0, succeeded: 4, api_calls: 4, dropped_fields: ['Email'] });
    expect(sf!.writes.map((w) => w.status)).toEqual([400, 200]);
    expect(await state('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
  });

  it('update mode updates existing records only: looked up by external_id first, by the stored Id after', async () => {
    await setup({ rows: 3, mode: 'update' });
    sf!.org.upsert(
      'Contact',
      'External_Id__c',
      [
        { External_Id__c: 'C-1', LastName: 'Old1' },
        { External_Id__c: 'C-2', LastName: 'Old2' },
      ],
      false,
    );
    const first = await run();
    expect(first.code).toBe(2);
    // One SOQL lookup, one update call.
    expect(first.report).toMatchObject({ succeeded: 2, failed: 1, api_calls: 3 });
    expect(contact('C-1')).toMatchObject({ LastName: 'Last1', Email: 'c1@x.io' });
    expect(sf!.org.records('Contact').size).toBe(2);
    expect(await state('select primary_key, error_code from failed_rows')).toEqual([{ primary_key: '3', error_code: 'SF_NO_MATCH' }]);

    await project!.warehouse(`update contacts set last_name = 'New1' where id = 1`);
    const second = await run();
    // Row 1 by its stored Id (no lookup); row 3 looked up again, still missing.
    expect(second.report).toMatchObject({ succeeded: 1, failed: 1, api_calls: 3 });
    expect(sf!.writes.map((w) => [w.route, w.records])).toEqual([
      ['update', 2],
      ['update', 1],
    ]);
    expect(contact('C-1')).toMatchObject({ LastName: 'New1' });
  });

  it('never sends more than 200 records in a call', async () => {
    await setup({ rows: 450 });
    const { code, report } = await run();
    expect(code).toBe(0);
    expect(report).toMatchObject({ succeeded: 450, api_calls: 4 });
    expect(sf!.stats.maxRecordsPerCall).toBe(200);
    expect(sf!.org.records('Contact').size).toBe(450);
  });

  it('reports bad sync settings as one line with file, line and fix', async () => {
    await setup({ rows: 1 });
    const expectError = async (pattern: RegExp) => {
      const result = await project!.cli(['validate'], env());
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    };
    const good = syncFile('upsert', '{ attempts: 2 }');

    await project!.write('syncs/contacts.yaml', good.replace('object: Contact', 'object: Contcat'));
    await expectError(
      /^error: hightouch-like\.config\.yaml:3: destinations\.crm: .*Salesforce has no object "Contcat".*Fix `object` in the sync/,
    );

    await project!.write('syncs/contacts.yaml', good.replace('external_id: External_Id__c', 'external_id: Ext__c'));
    await expectError(/^error: syncs\/contacts\.yaml:6: external_id: "Ext__c" is not a mapped destination field/);

    await project!.write('syncs/contacts.yaml', good.replace('external_id: External_Id__c\n', ''));
    await expectError(/^error: syncs\/contacts\.yaml:\d+: external_id: is required in upsert mode/);

    await project!.write('syncs/contacts.yaml', good.replace('external_id: External_Id__c', 'external_id: LastName'));
    await expectError(/destinations\.crm: .*external_id "LastName" is not an External ID field of Contact/);

    await project!.write('syncs/contacts.yaml', good + 'batch_size: 201\n');
    await expectError(/^error: syncs\/contacts\.yaml:12: batch_size: must be at most 200 for a salesforce destination/);
  });
});

/** The connector in-process against the emulator: each catalogue class as jsforce meets it. */
describe('salesforce destination: the error catalogue over the wire', () => {
  const FIELDS = ['External_Id__c', 'LastName', 'Email'];

  async function start() {
    sf = await startSalesforceFixture(CREDENTIALS);
    return sf;
  }

  function target(settings: Record<string, unknown> = {}, sync: Partial<WriteTarget['sync']> = {}): WriteTarget {
    return {
      destination: { name: 'crm', type: 'salesforce', settings: { instance_url: sf!.url, access_token: TOKEN, ...settings } },
      sync: {
        name: 'contacts',
        mode: 'upsert',
        keyField: null,
        fields: FIELDS,
        settings: { object: 'Contact', external_id: 'External_Id__c' },
        ...sync,
      },
    };
  }

  async function connect(t: WriteTarget = target()): Promise<DestinationClient> {
    const client = await salesforceDestination.connect(t);
    clients.push(client);
    return client;
  }

  const rows = (n: number): OutboundRow[] =>
    Array.from({ length: n }, (_, i) => ({
      key: String(i),
      fields: { External_Id__c: `E${i}`, LastName: `L${i}`, Email: `e${i}@x.io` },
      destinationId: null,
    }));

  async function failure(promise: Promise<unknown>) {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DestinationError);
    return (error as DestinationError).failure;
  }

  it('more than 200 records: EXCEEDED_ID_LIMIT, rejected (so the core halves the batch)', async () => {
    await start();
    const client = await connect();
    expect(await failure(client.write('insert', rows(201)))).toMatchObject({ errorClass: 'rejected', code: 'SF_EXCEEDED_ID_LIMIT' });
    expect(sf!.org.records('Contact').size).toBe(0);
  });

  it('request limits: ConcurrentPerOrgLongTxn is rate_limited, the daily TotalRequests quota is quota', async () => {
    await start();
    const client = await connect();
    sf!.failNext('upsert', 1, 403, [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    expect(await failure(client.write('insert', rows(2)))).toMatchObject({
      errorClass: 'rate_limited',
      code: 'SF_CONCURRENT_REQUEST_LIMIT',
    });
    sf!.exhaustApiLimit();
    const daily = await failure(client.write('insert', rows(2)));
    expect(daily).toMatchObject({ errorClass: 'quota', code: 'SF_DAILY_REQUEST_LIMIT' });
    expect(daily.message).toContain('TotalRequests Limit exceeded.');
  });

  it('a read-only field fails each record as schema drift; 5xx and dropped connections are transient', async () => {
    await start();
    const client = await connect();
    sf!.org.setFieldState('Contact', 'Email', 'readOnly');
    const outcome = await client.write('insert', rows(2));
    expect(outcome.apiCalls).toBe(1);
    expect(outcome.results.map((r) => (r.ok ? 'ok' : [r.failure.errorClass, r.failure.code]))).toEqual([
      ['schema_drift', 'SF_INVALID_FIELD_FOR_INSERT_UPDATE'],
      ['schema_drift', 'SF_INVALID_FIELD_FOR_INSERT_UPDATE'],
    ]);
    sf!.failNext('upsert', 1, 502, undefined);
    expect(await failure(client.write('insert', rows(1)))).toMatchObject({ errorClass: 'transient' });
    await sf!.close();
    expect(await failure(client.write('insert', rows(1)))).toMatchObject({ errorClass: 'transient', code: 'SF_NETWORK' });
    sf = undefined;
  });

  it('check: bad token, refused refresh, unknown field and unknown object, with no secret in the message', async () => {
    await start();
    sf!.expireToken();
    const expired = await failure(salesforceDestination.check(target()));
    expect(expired).toMatchObject({ errorClass: 'auth', code: 'SF_INVALID_SESSION_ID' });
    expect(expired.message).not.toContain(TOKEN);

    const oauth = { refresh_token: 'sf-refresh-revoked', client_id: 'htl-test', client_secret: SECRET, login_url: sf!.url };
    const refused = await failure(salesforceDestination.check(target(oauth)));
    expect(refused).toMatchObject({ errorClass: 'auth', code: 'SF_REFRESH_FAILED' });
    expect(refused.message).toContain('expired access/refresh token');
    expect(refused.message).not.toContain('sf-refresh-revoked');
    expect(refused.message).not.toContain(SECRET);

    const good = { ...oauth, refresh_token: REFRESH };
    await salesforceDestination.check(target(good));
    expect(await failure(salesforceDestination.check(target(good, { fields: [...FIELDS, 'Emial'] })))).toMatchObject({
      code: 'SF_UNKNOWN_FIELD',
      message: 'Contact has no field "Emial" (or it is hidden from the integration user)',
    });
    expect(await failure(salesforceDestination.check(target(good, { fields: ['External_Id__c', 'Name'] })))).toMatchObject({
      code: 'SF_FIELD_NOT_WRITABLE',
    });
  });
});
