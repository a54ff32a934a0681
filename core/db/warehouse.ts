/**
 * Read access to the warehouse a model runs on: its columns (for validation) and its rows in chunks
 * (for planning when the warehouse and the state store are different databases). Every read defines
 * the model as a temp view first, which is where the database's own parser checks that it is exactly
 * one query; the model then runs read-only.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance, StatementType } from './duckdb-api.js';
import './duckdb-text.js';
import type pg from 'pg';
import { createWriteStream, existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { attachLandingSql, waitForLock } from './landing-attach.js';
import type { ModelConfig, ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { toPlainValue } from './duckdb-values.js';
import { redactUrl } from '../../shared/redact.js';
import { lineAt, quoteLiteral } from './sql-text.js';
import { firstTokenOffset, leadingKeyword } from '../config/sql-statement.js';
import { oneStatement } from './pg-extended.js';
import { loadPg } from './pg-types.js';
import { DUCKDB_SESSION_SQL, POSTGRES_SESSION_SQL } from './session-settings.js';

/** A column of a model's SELECT: its name and the engine's name of its type. */
export interface ModelColumn {
  name: string;
  type: string;
}

export interface Warehouse {
  readonly dialect: 'duckdb' | 'postgres';
  /** Columns of a model's SELECT, without reading its rows. */
  columns(model: ModelConfig): Promise<ModelColumn[]>;
  /** Rows of `select … from (model)` in chunks; memory stays bounded by the chunk size. */
  stream(model: ModelConfig, selectList: string, chunkSize: number): AsyncIterable<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A database error in a model, reported against the model file with the database's own message. */
export function modelSqlError(model: ModelConfig, error: unknown, prefixLength: number | null = 0): UserError {
  const raw = (error as Error).message ?? String(error);
  let line: number | undefined;
  // A statement that only names the model's view has no line of the model to point at.
  if (prefixLength !== null) {
    const duck = /LINE (\d+):/.exec(raw);
    if (duck) line = Number(duck[1]);
    const position = Number((error as { position?: string }).position);
    if (!line && Number.isFinite(position) && position > prefixLength) line = lineAt(model.sql, position - prefixLength - 1);
  }
  const message = oneLine(raw.split(/\n\s*LINE \d+:/)[0]).replace(/^Failed to extract statements: /, '');
  return new UserError(`SQL error: ${message}`, { file: model.file, line: line ?? 1, hint: 'fix the model query.' });
}

function notOneQuery(model: ModelConfig, got: string): UserError {
  return new UserError(`the model must be one query (SELECT, WITH … SELECT or VALUES), not ${got}.`, {
    file: model.file,
    line: lineAt(model.sql, firstTokenOffset(model.sql)),
    hint: 'models only read; keep a single query.',
  });
}

function severalStatements(model: ModelConfig): UserError {
  return new UserError('the model holds more than one SQL statement.', {
    file: model.file,
    line: 1,
    hint: 'keep a single query; put other statements in their own model.',
  });
}

/**
 * The statement that defines the model as a temp view. The model text goes last, unwrapped, so the
 * database's grammar decides what it is (a view holds only a query; a trailing `;` or comment is fine),
 * and on the model's first line, so the engine's line numbers are the file's.
 */
function modelViewStatement(model: ModelConfig, view: string) {
  const prefix = `create temp view ${view} as `;
  return { text: `${prefix}${model.sql}`, prefixLength: prefix.length };
}

/**
 * DuckDB: checks with DuckDB's own parser that the model is exactly one query (statement type SELECT,
 * which covers WITH, VALUES, FROM-first and table functions), then defines it as temp view `view` with
 * exactly the statement that was parsed. Returns the model's columns.
 */
export async function defineDuckDBModelView(connection: DuckDBConnection, model: ModelConfig, view: string): Promise<ModelColumn[]> {
  let columns: ModelColumn[];
  try {
    const statements = await connection.extractStatements(model.sql);
    if (statements.count !== 1) throw severalStatements(model);
    const prepared = await statements.prepare(0);
    try {
      if (prepared.statementType !== StatementType.SELECT) throw notOneQuery(model, StatementType[prepared.statementType] ?? 'a command');
      columns = Array.from({ length: prepared.columnCount }, (_, i) => ({
        name: prepared.columnName(i),
        type: String(prepared.columnType(i)),
      }));
    } finally {
      prepared.destroySync();
    }
    await connection.run(`drop view if exists ${view}`);
    const statement = modelViewStatement(model, view);
    const wrapped = await connection.extractStatements(statement.text);
    // Cannot differ from the check above; the text that runs is checked all the same.
    if (wrapped.count !== 1) throw severalStatements(model);
    const define = await wrapped.prepare(0);
    try {
      await define.run();
    } finally {
      define.destroySync();
    }
  } catch (error) {
    throw error instanceof UserError ? error : modelSqlError(model, error);
  }
  return columns;
}

/**
 * PostgreSQL: defines the model as temp view `view` over the extended protocol, which refuses more than
 * one statement; the server's grammar admits only a query in a view (no data-modifying WITH either).
 */
export async function definePostgresModelView(client: pg.ClientBase | pg.Pool, model: ModelConfig, view: string): Promise<void> {
  const statement = modelViewStatement(model, view);
  try {
    await client.query(`drop view if exists ${view}`);
    await client.query(oneStatement(statement.text));
  } catch (error) {
    const { code, position } = error as { code?: string; position?: string };
    // 42601 without a position is the protocol refusing several commands; with one at the model's first
    // word, the grammar refusing a statement that is not a query.
    if (code === '42601' && position === undefined) throw severalStatements(model);
    if (code === '42601' && Number(position) - 1 - statement.prefixLength === firstTokenOffset(model.sql)) {
      throw notOneQuery(model, leadingKeyword(model.sql));
    }
    throw modelSqlError(model, error, statement.prefixLength);
  }
}

/** The temp view a model is defined as while it is read. */
export const MODEL_VIEW = 'hightouch_like_model';

/** PostgreSQL, the model view defined: its columns' types without modifiers (`numeric`, not `numeric(10,2)`). */
export const POSTGRES_VIEW_TYPES_SQL = `select attname as name, format_type(atttypid, null) as type from pg_attribute
  where attrelid = '${MODEL_VIEW}'::regclass and attnum > 0 and not attisdropped`;

export async function openWarehouse(project: ProjectConfig): Promise<Warehouse> {
  const wh = project.warehouse;
  if (wh.type === 'duckdb') {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(wh.path, wh.path === ':memory:' ? {} : { access_mode: 'READ_ONLY' });
    } catch (error) {
      throw new UserError(`cannot open DuckDB warehouse ${wh.path}: ${oneLine((error as Error).message)}`, {
        file: project.file,
        line: project.lines?.['warehouse.path'] ?? project.lines?.warehouse,
        field: 'warehouse.path',
        hint: 'fix the path, or stop the process holding the file.',
      });
    }
    const connection = await instance.connect();
    await connection.run(DUCKDB_SESSION_SQL);
    await connection.run(`set file_search_path = '${project.dir.replace(/'/g, "''")}'`);
    // Landed tables, read-only: an extract in another process holds the file only while it commits a page.
    const landing = project.landing;
    if (landing?.type === 'duckdb' && existsSync(landing.path)) {
      const where = { file: project.file, line: project.lines?.landing, field: 'landing.path' };
      await waitForLock(() => connection.run(attachLandingSql(landing.path, true)), landing.path, where);
    }
    return new DuckDBWarehouse(connection, () => instance.closeSync());
  }
  // Every session, the first and those a read in parts opens (`readInParts`), with the same settings.
  const session = async () => {
    const { Client } = await loadPg();
    const client = new Client({ connectionString: wh.url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(POSTGRES_SESSION_SQL);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  };
  let client: pg.Client;
  try {
    client = await session();
  } catch (error) {
    throw new UserError(`cannot connect to PostgreSQL warehouse at ${redactUrl(wh.url)}: ${oneLine((error as Error).message)}`, {
      file: project.file,
      line: project.lines?.['warehouse.url'] ?? project.lines?.warehouse,
      field: 'warehouse.url',
      hint: 'start the server or fix the URL.',
    });
  }
  return new PostgresWarehouse(client, session);
}

export class DuckDBWarehouse implements Warehouse {
  readonly dialect = 'duckdb' as const;

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly onClose: () => void = () => {},
  ) {}

  async columns(model: ModelConfig): Promise<ModelColumn[]> {
    try {
      return await defineDuckDBModelView(this.connection, model, MODEL_VIEW);
    } finally {
      await this.connection.run(`drop view if exists ${MODEL_VIEW}`);
    }
  }

  /** The warehouse file is opened read-only (an in-memory one holds nothing to protect). */
  async *stream(model: ModelConfig, selectList: string, chunkSize: number) {
    await defineDuckDBModelView(this.connection, model, MODEL_VIEW);
    try {
      yield* this.read(model, `select ${selectList} from ${MODEL_VIEW} as m`, chunkSize);
    } finally {
      await this.connection.run(`drop view if exists ${MODEL_VIEW}`);
    }
  }

  private async *read(model: ModelConfig, text: string, chunkSize: number) {
    let result;
    try {
      result = await this.connection.stream(text);
    } catch (error) {
      throw modelSqlError(model, error, null);
    }
    const names = result.columnNames();
    let buffer: Record<string, unknown>[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.getRows()) {
        const object: Record<string, unknown> = {};
        for (let i = 0; i < names.length; i++) object[names[i]] = toPlainValue(row[i]);
        buffer.push(object);
      }
      if (buffer.length >= chunkSize) {
        yield buffer;
        buffer = [];
      }
    }
    if (buffer.length) yield buffer;
  }

  async close() {
    this.connection.closeSync();
    this.onClose();
  }
}

/** Sessions of one snapshot, reading parts of the model at once (`PostgresWarehouse.readInParts`). */
export interface PartReader {
  readonly parts: number;
  /** `copyCsv` on part `part`'s session. */
  copy(part: number, query: string, path: string): Promise<void>;
  /** `streamQuery` on part `part`'s session. */
  stream(part: number, query: string, chunkSize: number, params?: unknown[]): AsyncGenerator<Record<string, unknown>[]>;
  /** Ends the sessions' transactions, and the sessions but the warehouse's own. */
  close(): Promise<void>;
}

export class PostgresWarehouse implements Warehouse {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly client: pg.Client,
    /** Opens another session to the warehouse (`readInParts`); none: every read runs on `client`. */
    private readonly session?: () => Promise<pg.Client>,
  ) {}

  /**
   * Opens a transaction holding the model's view, then makes it read-only, so the model itself runs
   * read-only; the caller's rollback drops the view. `snapshot`: a repeatable-read transaction, of the
   * snapshot another session exported when given one (it must be set before any query reads).
   */
  private async beginWithModel(model: ModelConfig, client = this.client, snapshot?: { id?: string }): Promise<void> {
    await client.query(snapshot ? 'begin isolation level repeatable read' : 'begin');
    if (snapshot?.id) await client.query(`set transaction snapshot ${quoteLiteral(snapshot.id)}`);
    await definePostgresModelView(client, model, MODEL_VIEW);
    await client.query('set transaction read only');
  }

  async columns(model: ModelConfig): Promise<ModelColumn[]> {
    try {
      await this.beginWithModel(model);
      try {
        const { fields } = await this.client.query(`select * from ${MODEL_VIEW} limit 0`);
        const types = await this.client.query<{ type: string }>(
          `select format_type(oid, typmod) as type from unnest($1::oid[], $2::int[]) with ordinality as f(oid, typmod, n) order by n`,
          [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
        );
        return fields.map((f, i) => ({ name: f.name, type: types.rows[i].type }));
      } catch (error) {
        throw modelSqlError(model, error, null);
      }
    } finally {
      await this.client.query('rollback').catch(() => {});
    }
  }

  stream(model: ModelConfig, selectList: string, chunkSize: number) {
    return this.streamQuery(model, `select ${selectList} from ${MODEL_VIEW} as m`, chunkSize);
  }

  /**
   * The rows of `query`, a query over the model's view taking `params`, in chunks through a cursor (the
   * plan's second read passes the keys it needs payloads of as one text array).
   */
  async *streamQuery(model: ModelConfig, query: string, chunkSize: number, params: unknown[] = []) {
    try {
      await this.beginWithModel(model);
      yield* this.fetchRows(this.client, model, query, chunkSize, params, 'hightouch_like_rows');
    } finally {
      await this.client.query('rollback').catch(() => {});
    }
  }

  /** `query`'s rows through cursor `cursor`, in the transaction `client` holds. */
  private async *fetchRows(client: pg.Client, model: ModelConfig, query: string, chunkSize: number, params: unknown[], cursor: string) {
    try {
      await client.query(`declare ${cursor} no scroll cursor for ${query}`, params);
    } catch (error) {
      throw modelSqlError(model, error, null);
    }
    try {
      for (;;) {
        const page = await client.query(`fetch ${chunkSize} from ${cursor}`);
        if (page.rows.length === 0) break;
        yield page.rows as Record<string, unknown>[];
      }
    } finally {
      await client.query(`close ${cursor}`).catch(() => {});
    }
  }

  /**
   * What the planner asks of a model before reading its rows: the types of its columns, without
   * modifiers, and PostgreSQL's plan of it (`EXPLAIN (FORMAT JSON)`, parsed), in one read-only transaction.
   */
  async describe(model: ModelConfig): Promise<{ types: Map<string, string>; plan: unknown }> {
    try {
      await this.beginWithModel(model);
      try {
        const types = await this.client.query<{ name: string; type: string }>(POSTGRES_VIEW_TYPES_SQL);
        const explained = await this.client.query(`explain (format json) select * from ${MODEL_VIEW}`);
        const plan = explained.rows[0]?.['QUERY PLAN'];
        return { types: new Map(types.rows.map((r) => [r.name, r.type])), plan: typeof plan === 'string' ? JSON.parse(plan) : plan };
      } catch (error) {
        throw modelSqlError(model, error, null);
      }
    } finally {
      await this.client.query('rollback').catch(() => {});
    }
  }

  /** The first column of the first row of `text`, a query of constants (a hash probe). */
  async probe(text: string): Promise<unknown> {
    const { rows } = await this.client.query({ text, rowMode: 'array' });
    return rows[0]?.[0];
  }

  /**
   * Writes the rows of `query` (over the model's view) to `path` as CSV, every value quoted and NULL an
   * empty unquoted field, readable by the owner only. The model runs read-only.
   */
  async copyCsv(model: ModelConfig, query: string, path: string): Promise<void> {
    try {
      await this.beginWithModel(model);
      await this.copyOut(this.client, model, query, path);
    } finally {
      await this.client.query('rollback').catch(() => {});
    }
  }

  /** COPYs `query`'s rows as CSV (see `copyCsv`) to `path`, in the transaction `client` holds. */
  private async copyOut(client: pg.Client, model: ModelConfig, query: string, path: string): Promise<void> {
    const { to: copyTo } = await import('pg-copy-streams');
    const rows = client.query(copyTo(`copy (${query}) to stdout (format csv, force_quote *)`));
    try {
      await pipeline(rows, createWriteStream(path, { mode: 0o600 }));
    } catch (error) {
      // The server's errors carry a SQLSTATE; the others are the file's (a full disk).
      if ((error as { severity?: string }).severity !== undefined) throw modelSqlError(model, error, null);
      throw new UserError(`cannot write the model's rows to ${path}: ${oneLine((error as Error).message)}`, {
        file: model.file,
        hint: 'free space in the temp directory, or point TMPDIR at a larger one.',
      });
    }
  }

  /**
   * Sessions that read the model at once, all from one snapshot: this session exports its snapshot
   * (`pg_export_snapshot`, as `pg_dump --jobs` does) and the others import it before they read, so
   * their reads see one state of the model's tables, as a single read would. PostgreSQL runs a COPY on
   * one core: 10M rows hashed took 20 s read as one part. Null when the sessions cannot be had (no
   * `session`, no connection left, a server that cannot export a snapshot): the caller reads in one.
   * `exported` runs between the export and the imports (tests: a write committed then is seen by no part).
   */
  async readInParts(model: ModelConfig, parts: number, exported?: () => Promise<void>): Promise<PartReader | null> {
    if (!this.session || parts < 2) return null;
    const sessions: pg.Client[] = [];
    const began: pg.Client[] = [];
    const close = async () => {
      for (const client of began) await client.query('rollback').catch(() => {});
      for (const session of sessions) await session.end().catch(() => {});
    };
    try {
      for (let i = 1; i < parts; i++) sessions.push(await this.session());
      await this.beginWithModel(model, this.client, {});
      began.push(this.client);
      const { id } = (await this.client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0];
      await exported?.();
      for (const session of sessions) {
        await this.beginWithModel(model, session, { id });
        began.push(session);
      }
    } catch {
      await close();
      return null;
    }
    const clients = [this.client, ...sessions];
    return {
      parts,
      copy: (part, query, path) => this.copyOut(clients[part], model, query, path),
      stream: (part, query, chunkSize, params = []) =>
        this.fetchRows(clients[part], model, query, chunkSize, params, `hightouch_like_part_${part}`),
      close,
    };
  }

  async close() {
    await this.client.end().catch(() => {});
  }
}
