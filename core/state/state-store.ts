/**
 * Opens the state store (DuckDB file by default, or PostgreSQL) behind one Kysely instance.
 *
 * A DuckDB warehouse is ATTACHed read-only into the DuckDB state instance, so planning joins the
 * model with the snapshot inside one database without moving rows through JS.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { attachLandingSql } from '../db/landing-attach.js';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { DatabaseConfig, ModelConfig, ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { DuckDBDialect } from '../db/duckdb-dialect.js';
import { leaseDuckDBInstance, type InstanceLease } from '../db/duckdb-instances.js';
import { migrate } from './migrations.js';
import type { StateTables } from './schema.js';
import { redactUrl } from '../../shared/redact.js';
import { loadPg, stateTypeParsers } from '../db/pg-types.js';
import { defineDuckDBModelView, definePostgresModelView } from '../db/warehouse.js';
import { DUCKDB_SESSION_SQL, POSTGRES_SESSION_SQL } from '../db/session-settings.js';
import type { TableAppend } from './transact.js';

export interface StateStore {
  dialect: 'duckdb' | 'postgres';
  db: Kysely<StateTables>;
  /** Set when the warehouse is DuckDB and attached to this DuckDB state store as catalog `warehouse`. */
  attachedWarehouse: boolean;
  /** The catalog holding the state tables (DuckDB), for queries run while the warehouse is in `USE`. */
  stateCatalog: string | null;
  /**
   * Defines a model as temp view `view` in this database (the DuckDB warehouse attached, or the same
   * PostgreSQL), once the database's own parser has found it to be exactly one query. Callers drop it.
   */
  defineModelView(model: ModelConfig, view: string): Promise<void>;
  /** DuckDB state: the process's shared instance of the state file, which also holds the landed tables' attach. */
  duckdb?: DuckDBInstance;
  /**
   * Runs statements that read a model view and write only temp tables, in one read-only transaction
   * (so statements that read the model twice see the same warehouse data).
   */
  runReadOnly(statements: string | string[]): Promise<void>;
  /**
   * Appends text rows to temp table `table`, values in its column order. DuckDB: its Appender (a
   * 2,000-row multi-row INSERT took 30× the CPU); PostgreSQL: one multi-row INSERT.
   */
  appendTemp(table: string, columns: string[], rows: Array<Array<string | null>>): Promise<void>;
  /**
   * DuckDB only: in one transaction, appends `appends` to state tables through DuckDB's Appender, then
   * runs `statements` as one text. A 1,000-row commit of the snapshot log and changelog took 11 ms of
   * CPU, against 17 ms as INSERTs from a JSON literal; see transact.ts for PostgreSQL.
   */
  transactAppending?(appends: TableAppend[], statements: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readOnly?: boolean;
  /** Attach a DuckDB warehouse to a DuckDB state store (needed by plan and run, not by status/query). */
  attachWarehouse?: boolean;
}

export function lineOf(project: ProjectConfig, key: string): number | undefined {
  return project.lines?.[key] ?? project.lines?.[key.split('.')[0]];
}

export async function openStateStore(project: ProjectConfig, options: OpenOptions = {}): Promise<StateStore> {
  const state = project.state;
  if (state.type === 'duckdb') return openDuckDBState(project, state.path, options);
  return openPostgresState(project, state.url, options);
}

async function openDuckDBState(project: ProjectConfig, path: string, options: OpenOptions): Promise<StateStore> {
  const where = { file: project.file, line: lineOf(project, 'state.path'), field: 'state.path' };
  let lease: InstanceLease | undefined;
  let connection: DuckDBConnection;
  try {
    if (!options.readOnly) await mkdir(dirname(path), { recursive: true });
    // Shared with the process's other opens of this file (concurrent runs of `serve`); see duckdb-instances.ts.
    lease = await leaseDuckDBInstance(path, !!options.readOnly);
    connection = await lease.instance.connect();
  } catch (error) {
    lease?.release();
    throw describeDuckDBOpenError(error, path, where, options.readOnly);
  }
  await connection.run(DUCKDB_SESSION_SQL);
  const catalog = (await connection.runAndReadAll('select current_database()')).getRows()[0][0] as string;
  // Models may read CSV/Parquet files by relative path: resolve them against the project folder.
  await connection.run(`set file_search_path = '${project.dir.replace(/'/g, "''")}'`);
  let attachedWarehouse = false;
  if (options.attachWarehouse && project.warehouse.type === 'duckdb') {
    const wh = project.warehouse.path;
    const whWhere = { file: project.file, line: lineOf(project, 'warehouse.path'), field: 'warehouse.path' };
    if (wh !== ':memory:' && wh === path) {
      throw new UserError('the warehouse and the state store are the same DuckDB file', {
        ...whWhere,
        hint: 'point state.path at a file of its own (the default is .hightouch-like/state.duckdb).',
      });
    }
    try {
      await connection.run(
        // Attached databases belong to the instance, which concurrent runs share: the first attaches.
        wh === ':memory:'
          ? `attach if not exists ':memory:' as warehouse`
          : `attach if not exists '${wh.replace(/'/g, "''")}' as warehouse (read_only)`,
      );
    } catch (error) {
      throw describeDuckDBOpenError(error, wh, whWhere, true);
    }
    attachedWarehouse = true;
    // Models read landed tables as landed.<table>, in read-only transactions; extracts of this process write it.
    if (project.landing?.type === 'duckdb' && existsSync(project.landing.path))
      await connection.run(attachLandingSql(project.landing.path, !!options.readOnly));
  }
  const db = new Kysely<StateTables>({ dialect: new DuckDBDialect(connection) });
  if (!options.readOnly) await migrate(db, 'duckdb');
  // The Appender fills a table in its column order, which migrations decide: read once per table.
  const columnOrders = new Map<string, string[]>();
  const columnOrder = async (table: string): Promise<string[]> => {
    let order = columnOrders.get(table);
    if (!order) {
      const reader = await connection.runAndReadAll(
        'select column_name from duckdb_columns() where database_name = $1 and schema_name = $2 and table_name = $3 order by column_index',
        [catalog, 'main', table],
      );
      order = reader.getRows().map((r) => String(r[0]));
      columnOrders.set(table, order);
    }
    return order;
  };
  return {
    dialect: 'duckdb',
    db,
    attachedWarehouse,
    stateCatalog: catalog,
    duckdb: lease.instance,
    async defineModelView(model, view) {
      await defineDuckDBModelView(connection, model, view);
    },
    async runReadOnly(statements) {
      // DuckDB admits temp tables in a read-only transaction: only they can be written.
      await sql.raw('begin transaction read only').execute(db);
      try {
        for (const statement of [statements].flat()) await sql.raw(statement).execute(db);
      } catch (error) {
        await sql.raw('rollback').execute(db);
        throw error;
      }
      await sql.raw('commit').execute(db);
    },
    async appendTemp(table, _columns, rows) {
      await appendText(connection, table, 'temp', rows);
    },
    async transactAppending(appends, statements) {
      // Holding the Kysely connection keeps every other query of the process out of the transaction.
      await db.connection().execute(async (held) => {
        await sql.raw('begin transaction').execute(held);
        try {
          for (const append of appends) {
            if (append.rows.length === 0) continue;
            const order = await columnOrder(append.table);
            const at = append.columns.map((c) => order.indexOf(c));
            if (at.includes(-1)) throw new Error(`${append.table} has no column ${append.columns[at.indexOf(-1)]}`);
            await appendText(
              connection,
              append.table,
              catalog,
              append.rows,
              order.map((_, i) => at.indexOf(i)),
            );
          }
          if (statements.length) await sql.raw(statements.join(';\n')).execute(held);
          await sql.raw('commit').execute(held);
        } catch (error) {
          await sql
            .raw('rollback')
            .execute(held)
            .catch(() => {});
          throw error;
        }
      });
    },
    async close() {
      await db.destroy();
      connection.closeSync();
      lease!.release();
    },
  };
}

/**
 * Appends text rows to `catalog`.main.`table` through DuckDB's Appender, which casts each value to its
 * column's type. `slots`, when given, names for each table column the row value that fills it (-1: null).
 */
async function appendText(
  connection: DuckDBConnection,
  table: string,
  catalog: string,
  rows: Array<Array<string | null>>,
  slots?: number[],
): Promise<void> {
  const appender = await connection.createAppender(table, 'main', catalog);
  try {
    for (const row of rows) {
      const width = slots ? slots.length : row.length;
      for (let i = 0; i < width; i++) {
        const value = slots ? (slots[i] < 0 ? null : row[slots[i]]) : row[i];
        if (value === null) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

export function describeDuckDBOpenError(
  error: unknown,
  path: string,
  where: { file: string; line?: number; field: string },
  readOnly?: boolean,
): UserError {
  const message = oneLine((error as Error).message);
  if (/lock/i.test(message)) {
    return new UserError(`DuckDB file ${path} is locked by another process`, {
      ...where,
      hint: 'wait for the running sync to finish, or stop the process holding it.',
    });
  }
  if (readOnly && /not exist|No such file/i.test(message)) {
    return new UserError(`DuckDB file ${path} does not exist`, { ...where, hint: 'run a sync first or fix the path.' });
  }
  return new UserError(`cannot open DuckDB file ${path}: ${message}`, { ...where, hint: 'fix the path or its permissions.' });
}

/**
 * The advisory lock that serialises migrations within one PostgreSQL database. An arbitrary number
 * picked once; it shares the bigint key space with the per-sync locks (core/run/sync-lock.ts, a 64-bit
 * FNV-1a hash of schema and sync name), which hit it with odds of 2^-64 per sync. Never change it: a
 * process still on the old id would migrate alongside a new one. It covers the whole database, so
 * projects in other schemas wait for each other's migrations, which take milliseconds.
 */
const MIGRATION_LOCK_ID = 7346121;

async function openPostgresState(project: ProjectConfig, url: string, options: OpenOptions): Promise<StateStore> {
  // One connection: temp tables made by the planner must be visible to every later query of the run.
  const pg = await loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 10_000,
    types: stateTypeParsers(pg),
  });
  pool.on('error', () => {});
  // A checked-out client has no listener of the pool's: a session ended between two statements
  // would emit an unhandled 'error' and crash the process. The query in flight, or the next one,
  // still fails, and the pool drops the broken client on release (see core/state/state-session.ts).
  // The session settings are queued on each new connection ahead of any query of ours (a client runs
  // its queries in order).
  pool.on('connect', (client) => {
    client.on('error', () => {});
    void client.query(POSTGRES_SESSION_SQL).catch(() => {});
  });
  try {
    const client = await pool.connect();
    if (options.readOnly) await client.query('set default_transaction_read_only = on');
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new UserError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${oneLine((error as Error).message)}`, {
      file: project.file,
      line: lineOf(project, 'state.url'),
      field: 'state.url',
      hint: 'start the server or fix the URL.',
    });
  }
  const db = new Kysely<StateTables>({ dialect: new PostgresDialect({ pool }) });
  if (!options.readOnly) {
    // Two runs migrating at once would race on create table; serialise them.
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(conn);
      try {
        await migrate(conn, 'postgres');
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(conn);
      }
    });
  }
  return {
    dialect: 'postgres',
    db,
    attachedWarehouse: false,
    stateCatalog: null,
    async defineModelView(model, view) {
      await definePostgresModelView(pool, model, view);
    },
    async runReadOnly(statements) {
      // PostgreSQL refuses CREATE TEMP TABLE in a read-only transaction, not INSERT into one: the
      // statements fill temp tables made beforehand.
      await db.connection().execute(async (conn) => {
        await sql`begin transaction read only`.execute(conn);
        try {
          for (const statement of [statements].flat()) await sql.raw(statement).execute(conn);
        } catch (error) {
          await sql`rollback`.execute(conn);
          throw error;
        }
        await sql`commit`.execute(conn);
      });
    },
    async appendTemp(table, columns, rows) {
      if (rows.length === 0) return;
      const values = rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]])));
      await (db as unknown as Kysely<any>).insertInto(table).values(values).execute();
    },
    async close() {
      await db.destroy();
    },
  };
}

export function sameDatabase(a: DatabaseConfig, b: DatabaseConfig): boolean {
  return a.type === 'postgres' && b.type === 'postgres' && a.url === b.url;
}
