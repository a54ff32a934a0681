/**
 * Values arrive exactly: integers past 2^53, DECIMAL(38,2) and HUGEINT keep every digit in JSON lines,
 * CSV, a postgres numeric column and an HTTP body; a NaN fails its own row only; a TIMESTAMPTZ renders
 * in UTC whatever the process's or the session's zone, so rerunning elsewhere sends nothing; and every
 * planning path that hashes payload text stores the state database's hash of one expected text (an
 * attached DuckDB warehouse, and PostgreSQL for its own warehouse, hash the values themselves:
 * core/plan/row-hash.ts).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';
import pg from 'pg';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';
import { postgresValuesHashSql } from '../core/plan/row-hash.js';
import { POSTGRES_SESSION_SQL } from '../core/db/session-settings.js';

const BASE = PG_BASE;
const admin = usePgAdmin();
let counter = 0;

/** A receiver that keeps each request body as the text that came over the wire. */
async function startRawSink(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/rows`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let project: TestProject | undefined;
let sink: Awaited<ReturnType<typeof startRawSink>> | undefined;
let schema = '';
afterEach(async () => {
  await project?.remove();
  await sink?.close();
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
});

/** Connections inside the test's schema; `zone` is the session zone a server or PGOPTIONS could impose. */
const urlFor = (s: string, zone?: string) =>
  `${BASE}?options=${encodeURIComponent(`-c search_path=${s}${zone ? ` -c TimeZone=${zone}` : ''}`)}`;

const BIG = '9007199254740993';
const DEC = '12345678901234567.89';
const HUGE = '170141183460469231731687303715884105727';
const FIELDS = ['id', 'big', 'dec', 'huge', 'f', 'ts'];
/** The payload text every path must build, and so the row hash every path must store. */
const PAYLOAD: Record<string, string> = {
  '1': `{"id":1,"big":${BIG},"dec":${DEC},"huge":${HUGE},"f":1.5,"ts":"2026-03-01T12:34:56.5Z"}`,
  '3': `{"id":3,"big":-7,"dec":1.5,"huge":0,"f":0.1,"ts":"2026-03-01T00:00:00Z"}`,
};
const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;

const pairings = [
  { name: 'duckdb warehouse, duckdb state (one statement)', warehouse: 'duckdb', state: 'duckdb' },
  { name: 'postgres warehouse, postgres state (same database)', warehouse: 'postgres', state: 'postgres' },
  { name: 'duckdb warehouse, postgres state (streamed)', warehouse: 'duckdb', state: 'postgres' },
  { name: 'postgres warehouse, duckdb state (streamed)', warehouse: 'postgres', state: 'duckdb' },
] as const;

describe.each(pairings)('$name', ({ warehouse, state }) => {
  const syncs = ['to_csv', 'to_http', 'to_jsonl', 'to_pg'];

  /** The four syncs over `vals`: rows 1 and 3, and with `nan` row 2 whose float is NaN. */
  async function setup({ nan }: { nan: boolean }) {
    schema = `htl_values_${process.pid}_${++counter}`;
    await admin.query(`create schema ${schema}`);
    await admin.query(
      `create table ${schema}.dest (id bigint primary key, big bigint, dec numeric(38,2), huge numeric, f double precision, ts timestamptz)`,
    );
    sink = await startRawSink();
    const mapping = `{ ${FIELDS.map((f) => `${f}: ${f}`).join(', ')} }`;
    const sync = (destination: string, extra = '') =>
      `model: vals\ndestination: ${destination}\nprimary_key: id\nmapping: ${mapping}\n${extra}`;
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: ${warehouse === 'postgres' ? `{ type: postgres, url: "\${PG_URL}" }` : '{ type: duckdb, path: warehouse.duckdb }'}
state: ${state === 'postgres' ? `{ type: postgres, url: "\${PG_URL}" }` : '{ type: duckdb, path: state.duckdb }'}
destinations:
  files: { type: file, path: out }
  db: { type: postgres, url: "\${PG_URL}", schema: ${schema} }
  api: { type: http, url: "\${SINK_URL}" }
`,
      'models/vals.sql': 'select id, big, dec, huge, f, ts from vals',
      'syncs/to_jsonl.yaml': sync('files', 'format: jsonl\n'),
      'syncs/to_csv.yaml': sync('files', 'format: csv\n'),
      'syncs/to_pg.yaml': sync('db', 'table: dest\n'),
      'syncs/to_http.yaml': sync('api'),
    });
    const rows = [
      `(1, ${BIG}, ${DEC}, ${HUGE}, 1.5, timestamptz '2026-03-01 12:34:56.5+00')`,
      ...(nan ? [`(2, 2, 2, 2, 'NaN', timestamptz '2026-03-01 00:00:00+00')`] : []),
      `(3, -7, 1.50, 0, 0.1, timestamptz '2026-03-01 05:30:00+05:30')`,
    ].join(', ');
    if (warehouse === 'postgres') {
      await admin.query(
        `create table ${schema}.vals (id bigint, big bigint, dec numeric(38,2), huge numeric(39,0), f double precision, ts timestamptz)`,
      );
      await admin.query(`insert into ${schema}.vals values ${rows}`);
    } else {
      await project.warehouse(`create table vals (id bigint, big bigint, dec decimal(38,2), huge hugeint, f double, ts timestamptz);
        insert into vals values ${rows}`);
    }
  }

  const run = async (env: Record<string, string>) => {
    const result = await project!.cli(['run', ...syncs, '--json'], { SINK_URL: sink!.url, ...env });
    expect(result.stdout, result.stderr).not.toBe('');
    return { code: result.code, reports: JSON.parse(result.stdout) as Array<Record<string, any>> };
  };
  const query = async (text: string) => {
    const result = await project!.cli(['query', text, '--json'], { PG_URL: urlFor(schema), SINK_URL: sink!.url });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  };
  const jsonlLines = async () => (await readFile(join(project!.dir, 'out/to_jsonl.jsonl'), 'utf8')).trim().split('\n');
  const fieldsText = (line: string) => /"fields":(\{.*?\}),"at"/.exec(line)![1];

  it('writes every digit to jsonl, csv, postgres and http, and fails only the NaN row', async () => {
    await setup({ nan: true });
    const first = await run({ PG_URL: urlFor(schema) });
    expect(first.code).toBe(2);
    for (const report of first.reports) expect(report, report.sync).toMatchObject({ sent: 3, succeeded: 2, failed: 1 });
    expect(await query(`select sync_name, primary_key, error_class, error_code from failed_rows order by sync_name`)).toEqual(
      syncs.map((s) => ({ sync_name: s, primary_key: '2', error_class: 'rejected', error_code: 'INVALID_NUMBER' })),
    );

    const jsonl = await jsonlLines();
    expect(jsonl.map((line) => JSON.parse(line).key).sort()).toEqual(['1', '3']);
    for (const line of jsonl) expect(fieldsText(line)).toBe(PAYLOAD[JSON.parse(line).key]);

    const csv = (await readFile(join(project!.dir, 'out/to_csv.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe(`_op,_key,_at,${FIELDS.join(',')}`);
    const csvRow = csv.find((line) => line.startsWith('upsert,1,'))!;
    expect(csvRow.split(',').slice(3)).toEqual(['1', BIG, DEC, HUGE, '1.5', '2026-03-01T12:34:56.5Z']);

    const pgRows = (await admin.query(`select id::text, big::text, dec::text, huge::text, f::text from ${schema}.dest order by id`)).rows;
    expect(pgRows).toEqual([
      { id: '1', big: BIG, dec: DEC, huge: HUGE, f: '1.5' },
      { id: '3', big: '-7', dec: '1.50', huge: '0', f: '0.1' },
    ]);

    const body = sink!.bodies.join('\n');
    expect(body).toContain(`"fields":${PAYLOAD['1']}`);
    expect(body).toContain(`"fields":${PAYLOAD['3']}`);

    // Every path that hashes payload text stores the state database's 64-bit hash of the same text.
    const stored = await query(`select primary_key, row_hash from sync_snapshots where sync_name = 'to_jsonl' order by primary_key`);
    if (warehouse === 'duckdb' && state === 'duckdb') {
      expect(stored.map((r) => r.primary_key)).toEqual(['1', '3']);
      for (const r of stored) expect(r.row_hash).toMatch(/^\d{1,20}$/);
    } else if (warehouse === 'postgres') {
      // PostgreSQL hashes the values themselves, in the engine's session settings, whichever the state.
      const types = ['bigint', 'bigint', 'numeric', 'numeric', 'double precision', 'timestamp with time zone'];
      const mapping = Object.fromEntries(FIELDS.map((f) => [f, f]));
      const client = new pg.Client(urlFor(schema, 'Asia/Kolkata'));
      await client.connect();
      try {
        await client.query(POSTGRES_SESSION_SQL);
        const columns = FIELDS.map((f, i) => `${f} as c${i}`).join(', ');
        const expected = (
          await client.query(`select id::text as primary_key, ${postgresValuesHashSql(mapping, types, 'v')} as row_hash
            from (select id, ${columns} from vals where id <> 2) v order by id`)
        ).rows;
        expect(stored).toEqual(expected);
      } finally {
        await client.end();
      }
    } else {
      const textHash = (text: string) =>
        state === 'postgres' ? `hashtextextended(${sqlText(text)}, 0)::text` : `cast(hash(${sqlText(text)}) as varchar)`;
      const expected = (await query(`select ${textHash(PAYLOAD['1'])} as a, ${textHash(PAYLOAD['3'])} as b`))[0];
      expect(stored).toEqual([
        { primary_key: '1', row_hash: expected.a },
        { primary_key: '3', row_hash: expected.b },
      ]);
    }
  });

  it('renders TIMESTAMPTZ in UTC: a rerun in another zone and locale sends nothing', async () => {
    await setup({ nan: false });
    // DuckDB's session zone follows TZ; a PostgreSQL session's follows the server, the role or PGOPTIONS.
    const first = await run({ PG_URL: urlFor(schema, 'Asia/Kolkata'), TZ: 'Asia/Kolkata', LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' });
    expect(first.code).toBe(0);
    for (const line of await jsonlLines()) expect(fieldsText(line)).toBe(PAYLOAD[JSON.parse(line).key]);
    const pgTimes = (await admin.query(`select ts = timestamptz '2026-03-01 12:34:56.5+00' as ok from ${schema}.dest where id = 1`)).rows;
    expect(pgTimes).toEqual([{ ok: true }]);

    const second = await run({ PG_URL: urlFor(schema, 'America/St_Johns'), TZ: 'America/St_Johns', LC_ALL: 'C', LANG: 'C' });
    expect(second.code).toBe(0);
    for (const report of second.reports) {
      expect(report.plan, report.sync).toMatchObject({ added: 0, changed: 0, unchanged: 2, planned: 0 });
      expect(report, report.sync).toMatchObject({ sent: 0 });
    }
    expect(await jsonlLines()).toHaveLength(2);
  });
});
