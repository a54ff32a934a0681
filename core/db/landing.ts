/**
 * Landed tables: where extracts write what a source read (README "Landed tables").
 *
 * - DuckDB warehouse: a DuckDB file of its own (`landing.path`), attached as catalog `landed` to the
 *   process's one state instance (core/db/duckdb-instances.ts) or, with PostgreSQL state, opened by the
 *   extract alone. Models see `landed.<table>` and run in read-only transactions, so they cannot write it.
 * - PostgreSQL warehouse: schema `landing.schema` (default `landed`) of the warehouse database.
 *
 * Columns are the source fields in lower case (Salesforce API names are unique without regard to case),
 * typed from the describe; a field that appears later adds a column, a field that goes keeps its column.
 * Rows are upserted on the id column, so a record read twice lands once.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { loadPg } from './pg-types.js';
import type { SourceField, SourceRecord } from '../../connectors/source.js';

export interface LandingStore {
  /** Creates the table, or adds the columns it lacks. */
  prepare(table: string, fields: SourceField[]): Promise<void>;
  /**
   * In one transaction: upserts `rows` (their `fields` only; others keep their value) and deletes
   * `deletedIds`. Returns once committed.
   */
  write(table: string, fields: SourceField[], rows: SourceRecord[], deletedIds: string[]): Promise<void>;
  close(): Promise<void>;
}

export const column = (field: string): string => field.toLowerCase();

const NAME = /^[a-z_][a-z0-9_]{0,79}$/;
function quoted(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a landed identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Salesforce Ids: 15 or 18 letters and digits. Anything else never reaches SQL text. */
const RECORD_ID = /^[A-Za-z0-9]{15,18}$/;
function checkedIds(ids: string[]): string[] {
  for (const id of ids) if (!RECORD_ID.test(id)) throw new Error(`not a record id: ${JSON.stringify(id).slice(0, 40)}`);
  return ids;
}

function castOf(type: string, dialect: 'duckdb' | 'postgres'): string {
  if (dialect === 'duckdb' && type === 'text') return 'varchar';
  return type;
}

/** The newest version of each record when a page holds one twice (a record changed while it was paged). */
function dedupe(rows: SourceRecord[], idField: string, stampField: string): SourceRecord[] {
  const byId = new Map<string, SourceRecord>();
  for (const row of rows) {
    const id = row[idField];
    if (id === null || id === undefined) continue;
    const seen = byId.get(id);
    if (!seen || String(row[stampField] ?? '') >= String(seen[stampField] ?? '')) byId.set(id, row);
  }
  return [...byId.values()];
}

interface LandingKeys {
  idField: string;
  stampField: string;
}

export class DuckDBLanding implements LandingStore {
  constructor(
    private readonly connection: DuckDBConnection,
    private readonly keys: LandingKeys,
    private readonly catalog = 'landed',
  ) {}

  private name(table: string): string {
    return `${quoted(this.catalog)}.main.${quoted(table)}`;
  }

  async prepare(table: string, fields: SourceField[]): Promise<void> {
    const id = column(this.keys.idField);
    const columns = fields.filter((f) => column(f.name) !== id).map((f) => `${quoted(column(f.name))} ${castOf(f.type, 'duckdb')}`);
    await this.connection.run(
      `create table if not exists ${this.name(table)} (${quoted(id)} varchar primary key${columns.map((c) => `, ${c}`).join('')})`,
    );
    const existing = await this.connection.runAndReadAll(
      `select column_name from duckdb_columns() where database_name = '${this.catalog}' and schema_name = 'main' and table_name = '${table}'`,
    );
    const have = new Set(existing.getRows().map((r) => String(r[0])));
    for (const field of fields) {
      const name = column(field.name);
      if (!have.has(name))
        await this.connection.run(`alter table ${this.name(table)} add column ${quoted(name)} ${castOf(field.type, 'duckdb')}`);
    }
  }

  async write(table: string, fields: SourceField[], rows: SourceRecord[], deletedIds: string[]): Promise<void> {
    const id = column(this.keys.idField);
    const names = [this.keys.idField, ...fields.map((f) => f.name).filter((n) => column(n) !== id)];
    const types = new Map(fields.map((f) => [f.name, f.type]));
    const unique = dedupe(rows, this.keys.idField, this.keys.stampField);
    await this.connection.run('begin transaction');
    try {
      if (unique.length > 0) {
        await this.connection.run(`create or replace temp table ht_landing_stage (${names.map((_, i) => `c${i} varchar`).join(', ')})`);
        const appender = await this.connection.createAppender('ht_landing_stage', 'main', 'temp');
        for (const row of unique) {
          for (const name of names) {
            const value = row[name];
            if (value === null || value === undefined) appender.appendNull();
            else appender.appendVarchar(value);
          }
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
        const select = names.map((n, i) => (i === 0 ? `c0` : `cast(c${i} as ${castOf(types.get(n) ?? 'text', 'duckdb')})`)).join(', ');
        const updates = names.slice(1).map((n) => `${quoted(column(n))} = excluded.${quoted(column(n))}`);
        await this.connection.run(
          `insert into ${this.name(table)} (${names.map((n) => quoted(column(n))).join(', ')}) select ${select} from ht_landing_stage ` +
            (updates.length > 0 ? `on conflict (${quoted(id)}) do update set ${updates.join(', ')}` : 'on conflict do nothing'),
        );
        await this.connection.run('drop table ht_landing_stage');
      }
      if (deletedIds.length > 0) {
        const list = checkedIds(deletedIds)
          .map((v) => `'${v}'`)
          .join(', ');
        await this.connection.run(`delete from ${this.name(table)} where ${quoted(id)} in (${list})`);
      }
      await this.connection.run('commit');
    } catch (error) {
      await this.connection.run('rollback').catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    this.connection.closeSync();
  }
}

export class PostgresLanding implements LandingStore {
  constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
    private readonly keys: LandingKeys,
  ) {}

  static async open(url: string, schema: string, keys: LandingKeys): Promise<PostgresLanding> {
    const { Client } = await loadPg();
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    await client.query(`set time zone 'UTC'`);
    await client.query(`create schema if not exists ${quoted(schema)}`);
    return new PostgresLanding(client, schema, keys);
  }

  private name(table: string): string {
    return `${quoted(this.schema)}.${quoted(table)}`;
  }

  async prepare(table: string, fields: SourceField[]): Promise<void> {
    const id = column(this.keys.idField);
    const columns = fields.filter((f) => column(f.name) !== id).map((f) => `${quoted(column(f.name))} ${f.type}`);
    await this.client.query(
      `create table if not exists ${this.name(table)} (${quoted(id)} text primary key${columns.map((c) => `, ${c}`).join('')})`,
    );
    const existing = await this.client.query<{ column_name: string }>(
      'select column_name from information_schema.columns where table_schema = $1 and table_name = $2',
      [this.schema, table],
    );
    const have = new Set(existing.rows.map((r) => r.column_name));
    for (const field of fields) {
      const name = column(field.name);
      if (!have.has(name))
        await this.client.query(`alter table ${this.name(table)} add column if not exists ${quoted(name)} ${field.type}`);
    }
  }

  async write(table: string, fields: SourceField[], rows: SourceRecord[], deletedIds: string[]): Promise<void> {
    const id = column(this.keys.idField);
    const names = [this.keys.idField, ...fields.map((f) => f.name).filter((n) => column(n) !== id)];
    const types = new Map(fields.map((f) => [f.name, f.type]));
    const unique = dedupe(rows, this.keys.idField, this.keys.stampField);
    await this.client.query('begin');
    try {
      if (unique.length > 0) {
        const arrays = names.map((n) => unique.map((row) => row[n] ?? null));
        const select = names.map((n, i) => (i === 0 ? `c0` : `c${i}::${types.get(n) ?? 'text'}`)).join(', ');
        const updates = names.slice(1).map((n) => `${quoted(column(n))} = excluded.${quoted(column(n))}`);
        await this.client.query(
          `insert into ${this.name(table)} (${names.map((n) => quoted(column(n))).join(', ')}) ` +
            `select ${select} from unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as u(${names.map((_, i) => `c${i}`).join(', ')}) ` +
            (updates.length > 0 ? `on conflict (${quoted(id)}) do update set ${updates.join(', ')}` : 'on conflict do nothing'),
          arrays,
        );
      }
      if (deletedIds.length > 0)
        await this.client.query(`delete from ${this.name(table)} where ${quoted(id)} = any($1::text[])`, [deletedIds]);
      await this.client.query('commit');
    } catch (error) {
      await this.client.query('rollback').catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
