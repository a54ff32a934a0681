/**
 * Read access to the warehouse a model runs on: its columns (for validation) and its rows in chunks
 * (for planning when the warehouse and the state store are different databases).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import type { ModelConfig, ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../errors.js';
import { toPlainValue } from './duckdb-values.js';
import { redactUrl } from './redact.js';
import { lineAt } from './sql-text.js';
import { DUCKDB_SESSION_SQL, POSTGRES_SESSION_SQL } from './session-settings.js';

export interface Warehouse {
  readonly dialect: 'duckdb' | 'postgres';
  /** Column names of a model's SELECT, without reading its rows. */
  columns(model: ModelConfig): Promise<string[]>;
  /** Rows of `select … from (model)` in chunks; memory stays bounded by the chunk size. */
  stream(model: ModelConfig, selectList: string, chunkSize: number): AsyncIterable<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A database error in a model, reported against the model file with the database's own message. */
export function modelSqlError(model: ModelConfig, error: unknown, prefixLength = 0): UserError {
  const raw = (error as Error).message ?? String(error);
  let line: number | undefined;
  const duck = /LINE (\d+):/.exec(raw);
  if (duck) line = Number(duck[1]);
  const position = Number((error as { position?: string }).position);
  if (!line && Number.isFinite(position) && position > prefixLength) line = lineAt(model.sql, position - prefixLength - 1);
  const message = oneLine(raw.split(/\n\s*LINE \d+:/)[0]);
  return new UserError(`SQL error: ${message}`, { file: model.file, line: line ?? 1, hint: 'fix the model query.' });
}

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
    return new DuckDBWarehouse(connection, () => instance.closeSync());
  }
  const client = new pg.Client({ connectionString: wh.url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(POSTGRES_SESSION_SQL);
  } catch (error) {
    throw new UserError(`cannot connect to PostgreSQL warehouse at ${redactUrl(wh.url)}: ${oneLine((error as Error).message)}`, {
      file: project.file,
      line: project.lines?.['warehouse.url'] ?? project.lines?.warehouse,
      field: 'warehouse.url',
      hint: 'start the server or fix the URL.',
    });
  }
  return new PostgresWarehouse(client);
}

export class DuckDBWarehouse implements Warehouse {
  readonly dialect = 'duckdb' as const;

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly onClose: () => void = () => {},
  ) {}

  async columns(model: ModelConfig): Promise<string[]> {
    try {
      // `describe` keeps the model on the first line, so DuckDB's LINE n matches the file's lines.
      const reader = await this.connection.runAndReadAll(`describe ${model.sql}`);
      return reader.getRowObjectsJS().map((row) => String(row.column_name));
    } catch (error) {
      throw modelSqlError(model, error);
    }
  }

  async *stream(model: ModelConfig, selectList: string, chunkSize: number) {
    let result;
    try {
      result = await this.connection.stream(`select ${selectList} from (${model.sql}\n) as m`);
    } catch (error) {
      throw modelSqlError(model, error);
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

export class PostgresWarehouse implements Warehouse {
  readonly dialect = 'postgres' as const;

  constructor(private readonly client: pg.Client) {}

  async columns(model: ModelConfig): Promise<string[]> {
    const prefix = 'select * from (';
    try {
      const result = await this.client.query(`${prefix}${model.sql}\n) as m limit 0`);
      return result.fields.map((f) => f.name);
    } catch (error) {
      throw modelSqlError(model, error, prefix.length);
    }
  }

  async *stream(model: ModelConfig, selectList: string, chunkSize: number) {
    const prefix = `declare hightouch_like_model no scroll cursor for select ${selectList} from (`;
    await this.client.query('begin read only');
    try {
      try {
        await this.client.query(`${prefix}${model.sql}\n) as m`);
      } catch (error) {
        throw modelSqlError(model, error, prefix.length);
      }
      for (;;) {
        const page = await this.client.query(`fetch ${chunkSize} from hightouch_like_model`);
        if (page.rows.length === 0) break;
        yield page.rows as Record<string, unknown>[];
      }
    } finally {
      await this.client.query('rollback').catch(() => {});
    }
  }

  async close() {
    await this.client.end().catch(() => {});
  }
}
