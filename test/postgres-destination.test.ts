import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SyncMode } from '../core/config/types.js';
import { DestinationError, type DestinationClient, type OutboundRow, type WriteTarget } from '../connectors/destination.js';
import { classifyPgError } from '../connectors/destinations/postgres/errors.js';
import { postgresDestination } from '../connectors/destinations/postgres/postgres-destination.js';

const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let admin: pg.Client;
const cleanup: string[] = [];
const clients: DestinationClient[] = [];
let counter = 0;

beforeAll(async () => {
  // No skip: a missing database must fail the suite, not hide it.
  admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const statement of cleanup.splice(0).reverse()) await admin.query(statement);
});

afterAll(async () => {
  await admin?.end();
});

async function createTable(columns: string): Promise<string> {
  const name = `pgdest_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await admin.query(`CREATE TABLE public.${name} (${columns})`);
  cleanup.push(`DROP TABLE IF EXISTS public.${name}`);
  return name;
}

interface TargetOptions {
  mode?: SyncMode;
  fields?: string[];
  keyField?: string | null;
  externalId?: string;
  url?: string;
  schema?: string;
}

function target(table: string, options: TargetOptions = {}): WriteTarget {
  const settings: Record<string, unknown> = { url: options.url ?? PG_URL };
  if (options.schema) settings.schema = options.schema;
  return {
    destination: { name: 'warehouse_out', type: 'postgres', settings },
    sync: {
      name: 'users_sync',
      mode: options.mode ?? 'upsert',
      keyField: options.keyField === undefined ? 'id' : options.keyField,
      fields: options.fields ?? ['id', 'name', 'score'],
      settings: { table, ...(options.externalId ? { external_id: options.externalId } : {}) },
    },
  };
}

async function connect(t: WriteTarget): Promise<DestinationClient> {
  const client = await postgresDestination.connect(t);
  clients.push(client);
  return client;
}

function row(key: string | number, fields: Record<string, unknown> = {}, destinationId: string | null = null): OutboundRow {
  return { key: String(key), fields, destinationId };
}

async function tableRows(table: string, order = 'id'): Promise<Record<string, unknown>[]> {
  return (await admin.query(`SELECT * FROM public.${table} ORDER BY ${order}`)).rows;
}

async function writeError(promise: Promise<unknown>): Promise<DestinationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DestinationError);
  return error as DestinationError;
}

async function checkError(t: WriteTarget): Promise<DestinationError> {
  return writeError(postgresDestination.check(t));
}

describe('postgres destination: write semantics', () => {
  it('upserts by the key, writing only mapped columns, in one statement', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score numeric(6,2), untouched text DEFAULT $$d$$');
    const client = await connect(target(table));
    const first = await client.write('insert', [row(1, { id: 1, name: 'ada', score: 1.5 }), row(2, { id: 2, name: 'bob', score: null })]);
    expect(first.apiCalls).toBe(1);
    expect(first.results).toEqual([
      { key: '1', ok: true },
      { key: '2', ok: true },
    ]);
    await admin.query(`UPDATE public.${table} SET untouched = 'kept' WHERE id = 1`);
    const second = await client.write('update', [row(1, { id: 1, name: 'ada l', score: 99 }), row(3, { id: 3, name: 'cy', score: 0 })]);
    expect(second.results.every((r) => r.ok)).toBe(true);
    expect(await tableRows(table)).toEqual([
      { id: 1, name: 'ada l', score: '99.00', untouched: 'kept' },
      { id: 2, name: 'bob', score: null, untouched: 'd' },
      { id: 3, name: 'cy', score: '0.00', untouched: 'd' },
    ]);
  });

  it('lets the last change to a key in one batch win and acknowledges both rows', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    const client = await connect(target(table));
    const out = await client.write('insert', [row(1, { id: 1, name: 'old', score: 1 }), row(1, { id: 1, name: 'new', score: 2 })]);
    expect(out.results).toEqual([
      { key: '1', ok: true },
      { key: '1', ok: true },
    ]);
    expect(await tableRows(table)).toEqual([{ id: 1, name: 'new', score: 2 }]);
  });

  it('deletes by key; a key already gone is a success', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    await admin.query(`INSERT INTO public.${table} VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)`);
    const client = await connect(target(table, { mode: 'mirror' }));
    const out = await client.write('delete', [row(1), row(3), row(42)]);
    expect(out).toEqual({
      apiCalls: 1,
      results: [
        { key: '1', ok: true },
        { key: '3', ok: true },
        { key: '42', ok: true },
      ],
    });
    expect(await tableRows(table)).toEqual([{ id: 2, name: 'b', score: 2 }]);
  });

  it('insert mode inserts absent keys and counts present ones as success without overwriting', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    await admin.query(`INSERT INTO public.${table} VALUES (1, 'original', 1)`);
    const client = await connect(target(table, { mode: 'insert' }));
    const out = await client.write('insert', [row(1, { id: 1, name: 'resent', score: 5 }), row(2, { id: 2, name: 'fresh', score: 6 })]);
    expect(out.results.every((r) => r.ok)).toBe(true);
    expect(await tableRows(table)).toEqual([
      { id: 1, name: 'original', score: 1 },
      { id: 2, name: 'fresh', score: 6 },
    ]);
  });

  it('insert mode still rejects a conflict on a different unique column', async () => {
    const table = await createTable('id int PRIMARY KEY, name text UNIQUE, score int');
    await admin.query(`INSERT INTO public.${table} VALUES (1, 'taken', 1)`);
    const client = await connect(target(table, { mode: 'insert' }));
    const error = await writeError(client.write('insert', [row(2, { id: 2, name: 'taken', score: 2 })]));
    expect(error.failure).toMatchObject({ errorClass: 'rejected', code: 'PG_23505' });
    expect(error.failure.message).toContain('already exists');
  });

  it('update mode updates existing rows and fails unmatched keys as NOT_FOUND', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    await admin.query(`INSERT INTO public.${table} VALUES (1, 'a', 1), (2, 'b', 2)`);
    const client = await connect(target(table, { mode: 'update' }));
    const out = await client.write('update', [
      row(2, { id: 2, name: 'B', score: 20 }),
      row(7, { id: 7, name: 'ghost', score: 0 }),
      row(1, { id: 1, name: 'A', score: 10 }),
    ]);
    expect(out.apiCalls).toBe(1);
    const byKey = Object.fromEntries(out.results.map((r) => [r.key, r]));
    expect(byKey['1']).toEqual({ key: '1', ok: true });
    expect(byKey['2']).toEqual({ key: '2', ok: true });
    expect(byKey['7']).toMatchObject({ ok: false, failure: { errorClass: 'rejected', code: 'NOT_FOUND' } });
    expect(await tableRows(table)).toEqual([
      { id: 1, name: 'A', score: 10 },
      { id: 2, name: 'B', score: 20 },
    ]);
  });

  it('update mode with a table column named like the ordinality still matches by position', async () => {
    const table = await createTable('id int PRIMARY KEY, n int, ordinality int');
    await admin.query(`INSERT INTO public.${table} VALUES (1, 0, 0)`);
    const client = await connect(target(table, { mode: 'update', fields: ['id', 'n', 'ordinality'] }));
    const out = await client.write('update', [row(9, { id: 9, n: 1, ordinality: 1 }), row(1, { id: 1, n: 5, ordinality: 6 })]);
    expect(out.results.find((r) => r.key === '1')).toEqual({ key: '1', ok: true });
    expect(out.results.find((r) => r.key === '9')).toMatchObject({ ok: false, failure: { code: 'NOT_FOUND' } });
    expect(await tableRows(table)).toEqual([{ id: 1, n: 5, ordinality: 6 }]);
  });

  it('matches on external_id, returns it as destinationId, and deletes by it', async () => {
    const table = await createTable('email text PRIMARY KEY, name text');
    const t = target(table, { keyField: null, externalId: 'email', fields: ['email', 'name'] });
    const client = await connect(t);
    const out = await client.write('insert', [row(1, { email: 'a@x.io', name: 'a' }), row(2, { email: 'b@x.io', name: 'b' })]);
    expect(out.results).toEqual([
      { key: '1', ok: true, destinationId: 'a@x.io' },
      { key: '2', ok: true, destinationId: 'b@x.io' },
    ]);
    const removed = await client.write('delete', [row(1, {}, 'a@x.io'), row(2, {}, null)]);
    expect(removed.results.find((r) => r.key === '1')).toEqual({ key: '1', ok: true });
    expect(removed.results.find((r) => r.key === '2')).toMatchObject({
      key: '2',
      ok: false,
      failure: { errorClass: 'rejected', code: 'PG_NO_KEY' },
    });
    expect(await tableRows(table, 'email')).toEqual([{ email: 'b@x.io', name: 'b' }]);
  });

  it('fails a row whose external_id is null without sending it', async () => {
    const table = await createTable('email text PRIMARY KEY, name text');
    const client = await connect(target(table, { keyField: null, externalId: 'email', fields: ['email', 'name'] }));
    const out = await client.write('insert', [row(1, { email: null, name: 'x' })]);
    expect(out.apiCalls).toBe(0);
    expect(out.results[0]).toMatchObject({ key: '1', ok: false, failure: { code: 'PG_NO_KEY' } });
  });

  it('converts JSON values to the column types', async () => {
    const table = await createTable('id bigint PRIMARY KEY, active boolean, at timestamptz, doc jsonb, amount numeric');
    const client = await connect(target(table, { fields: ['id', 'active', 'at', 'doc', 'amount'] }));
    await client.write('insert', [row(10, { id: '10', active: true, at: '2024-05-01T12:00:00Z', doc: 'plain', amount: 12.25 })]);
    const [stored] = (await admin.query(`SELECT id::text, active, at, doc, amount::text FROM public.${table}`)).rows;
    expect(stored).toEqual({ id: '10', active: true, at: new Date('2024-05-01T12:00:00Z'), doc: 'plain', amount: '12.25' });
  });
});

describe('postgres destination: whole-statement failures', () => {
  it.each([
    ['an unparseable integer', { id: 2, name: 'x', score: 'lots' }, 'PG_22P02'],
    ['a null in a NOT NULL column', { id: 2, name: null, score: 1 }, 'PG_23502'],
    ['a value too long for its column', { id: 2, name: 'far too long', score: 1 }, 'PG_22001'],
    ['a number out of range', { id: 2, name: 'x', score: 1e12 }, 'PG_22003'],
    ['a failed CHECK constraint', { id: 2, name: 'x', score: -1 }, 'PG_23514'],
  ])('rejects the whole batch for %s and writes nothing', async (_what, bad, code) => {
    const table = await createTable('id int PRIMARY KEY, name varchar(5) NOT NULL, score int CHECK (score >= 0)');
    const client = await connect(target(table));
    const error = await writeError(client.write('insert', [row(1, { id: 1, name: 'ok', score: 1 }), row(2, bad)]));
    expect(error.failure).toMatchObject({ errorClass: 'rejected', code });
    expect(error.failure.remediation).toBeTruthy();
    expect(error.apiCalls).toBe(1);
    expect(await tableRows(table)).toEqual([]);
  });

  it('classifies a missing foreign-key parent as needs_change', async () => {
    const parent = await createTable('id int PRIMARY KEY');
    const table = await createTable(`id int PRIMARY KEY, name text, score int REFERENCES public.${parent}(id)`);
    const client = await connect(target(table));
    const error = await writeError(client.write('insert', [row(1, { id: 1, name: 'x', score: 5 })]));
    expect(error.failure).toMatchObject({ errorClass: 'needs_change', code: 'PG_23503' });
  });

  it('reports a column dropped mid-run as schema_drift (42703)', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    const client = await connect(target(table));
    await client.write('insert', [row(1, { id: 1, name: 'a', score: 1 })]);
    await admin.query(`ALTER TABLE public.${table} DROP COLUMN score`);
    const error = await writeError(client.write('insert', [row(2, { id: 2, name: 'b', score: 2 })]));
    expect(error.failure).toMatchObject({ errorClass: 'schema_drift', code: 'PG_42703' });
    expect(error.failure.message).toContain('score');
  });

  it('reports a dropped table as fatal (42P01)', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    const client = await connect(target(table));
    await admin.query(`DROP TABLE public.${table}`);
    const error = await writeError(client.write('insert', [row(1, { id: 1, name: 'a', score: 1 })]));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_42P01' });
    expect(error.failure.message).toContain(table);
  });

  it('reports a role without privileges as auth (42501)', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    const role = `${table}_ro`;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    cleanup.push(`DROP ROLE IF EXISTS ${role}`);
    const url = PG_URL.replace('//postgres@', `//${role}@`);
    const client = await connect(target(table, { url }));
    const error = await writeError(client.write('insert', [row(1, { id: 1, name: 'a', score: 1 })]));
    expect(error.failure).toMatchObject({ errorClass: 'auth', code: 'PG_42501' });

    const checked = await checkError(target(table, { url, mode: 'mirror' }));
    expect(checked.failure).toMatchObject({ errorClass: 'auth', code: 'PG_42501' });
    expect(checked.failure.message).toContain('INSERT, UPDATE, DELETE');
    expect(checked.failure.message).toContain(table);
  });

  it('reports a refused connection as transient', async () => {
    const client = await connect(target('whatever', { url: 'postgres://postgres@127.0.0.1:1/test' }));
    const error = await writeError(client.write('insert', [row(1, { id: 1, name: 'a', score: 1 })]));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'PG_ECONNREFUSED' });
  });

  it('reports an unknown role as auth and an unknown database as fatal', async () => {
    const noRole = await checkError(target('t', { url: 'postgres://no_such_role_xyz@127.0.0.1:5432/test' }));
    expect(noRole.failure).toMatchObject({ errorClass: 'auth', code: 'PG_28000' });
    const noDb = await checkError(target('t', { url: 'postgres://postgres@127.0.0.1:5432/no_such_db_xyz' }));
    expect(noDb.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_3D000' });
  });
});

describe('postgres destination: classification catalogue', () => {
  it.each([
    ['40001', 'transient'],
    ['40P01', 'transient'],
    ['55P03', 'transient'],
    ['57P01', 'transient'],
    ['57P02', 'transient'],
    ['57P03', 'transient'],
    ['08006', 'transient'],
    ['08001', 'transient'],
    ['53300', 'transient'],
    ['53100', 'transient'],
    ['28P01', 'auth'],
    ['28000', 'auth'],
    ['42501', 'auth'],
    ['22012', 'rejected'],
    ['23505', 'rejected'],
    ['42P01', 'fatal'],
    ['42703', 'schema_drift'],
    ['42601', 'fatal'],
    ['XX000', 'fatal'],
    ['ECONNREFUSED', 'transient'],
    ['ECONNRESET', 'transient'],
    ['ETIMEDOUT', 'transient'],
    ['EPIPE', 'transient'],
    ['ENOTFOUND', 'fatal'],
  ])('%s → %s', (code, errorClass) => {
    const failure = classifyPgError(Object.assign(new Error('boom'), { code }), 'insert on "public"."t"');
    expect(failure).toMatchObject({ errorClass, code: `PG_${code}` });
    expect(failure.remediation).toBeTruthy();
  });

  it('reads the errno of a dual-stack connect failure and classifies codeless pg errors', () => {
    const aggregate = Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {});
    expect(classifyPgError(aggregate, 'c').code).toBe('PG_ECONNREFUSED');
    expect(classifyPgError(new Error('timeout exceeded when trying to connect'), 'c')).toMatchObject({
      errorClass: 'transient',
      code: 'PG_CONNECT_TIMEOUT',
    });
    expect(classifyPgError(new Error('Connection terminated unexpectedly'), 'c')).toMatchObject({
      errorClass: 'transient',
      code: 'PG_CONNECTION_LOST',
    });
    expect(classifyPgError(new Error('odd'), 'c')).toMatchObject({ errorClass: 'fatal', code: 'PG_UNKNOWN' });
  });

  it('masks secrets out of messages', () => {
    const failure = classifyPgError(new Error('bad thing near s3cr3t'), 'c', ['s3cr3t']);
    expect(failure.message).not.toContain('s3cr3t');
    expect(failure.message).toContain('***');
  });
});

describe('postgres destination: check and validateSync', () => {
  it('passes for a table with every column and a unique key', async () => {
    const table = await createTable('id int PRIMARY KEY, name text, score int');
    await expect(postgresDestination.check(target(table, { mode: 'mirror' }))).resolves.toBeUndefined();
  });

  it('names a missing table', async () => {
    const error = await checkError(target('no_such_table_xyz'));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_42P01' });
    expect(error.failure.message).toContain('"public"."no_such_table_xyz"');
    expect(error.failure.remediation).toContain('table');
  });

  it('names a table in a missing schema', async () => {
    const error = await checkError(target('t', { schema: 'no_such_schema_xyz' }));
    expect(error.failure.message).toContain('"no_such_schema_xyz"."t"');
  });

  it('names every missing column', async () => {
    const table = await createTable('id int PRIMARY KEY');
    const error = await checkError(target(table));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_MISSING_COLUMN' });
    expect(error.failure.message).toContain('"name", "score"');
    expect(error.failure.message).toContain(table);
  });

  it('requires a unique key for ON CONFLICT, except in update mode', async () => {
    const table = await createTable('id int, name text, score int');
    const error = await checkError(target(table));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_NO_UNIQUE_KEY' });
    expect(error.failure.message).toContain('"id"');
    expect(error.failure.message).toContain(table);
    await expect(postgresDestination.check(target(table, { mode: 'update' }))).resolves.toBeUndefined();
  });

  it('does not accept a partial unique index as the key', async () => {
    const table = await createTable('id int, name text, score int');
    await admin.query(`CREATE UNIQUE INDEX ON public.${table} (id) WHERE score > 0`);
    expect((await checkError(target(table))).failure.code).toBe('PG_NO_UNIQUE_KEY');
  });

  it('accepts a unique constraint on the external_id column', async () => {
    const table = await createTable('id int, email text UNIQUE, name text');
    await expect(
      postgresDestination.check(target(table, { keyField: 'id', externalId: 'email', fields: ['email', 'name'] })),
    ).resolves.toBeUndefined();
  });

  it('names the host of a refused connection', async () => {
    const error = await checkError(target('t', { url: 'postgres://postgres:hunter2@127.0.0.1:1/test' }));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'PG_ECONNREFUSED' });
    expect(error.failure.message).toContain('127.0.0.1:1');
    expect(error.failure.message).not.toContain('hunter2');
  });

  it('rejects a bad url without echoing it', async () => {
    const error = await checkError(target('t', { url: 'mysql://root:hunter2@db/x' }));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'PG_CONFIG' });
    expect(error.failure.message).not.toContain('hunter2');
  });

  it('validateSync requires a key and a mapped external_id', () => {
    expect(postgresDestination.validateSync!(target('t'))).toEqual([]);
    expect(postgresDestination.validateSync!(target('t', { keyField: null }))).toEqual([expect.objectContaining({ field: 'mapping' })]);
    expect(postgresDestination.validateSync!(target('t', { externalId: 'email' }))).toEqual([
      expect.objectContaining({ field: 'external_id', message: expect.stringContaining('"email"') }),
    ]);
  });
});
