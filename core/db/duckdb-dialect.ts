/**
 * A Kysely dialect over one `@duckdb/node-api` connection.
 *
 * DuckDB speaks PostgreSQL's SQL closely enough (`$1` parameters, ON CONFLICT, RETURNING) that the
 * Postgres query compiler and adapter serve it; only the driver is DuckDB's own. One connection,
 * serialised by a queue, because an embedded database gains nothing from a pool and temp tables
 * must stay visible to every query of a run.
 */
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { toPlainValue } from './duckdb-values.js';

class DuckDBKyselyConnection implements DatabaseConnection {
  constructor(private readonly connection: DuckDBConnection) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const params = compiled.parameters.map(toDuckDBParameter);
    const reader = await this.connection.runAndReadAll(compiled.sql, params.length ? params : undefined);
    const names = reader.columnNames();
    const rows = reader.getRows().map((row) => {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) object[names[i]] = toPlainValue(row[i]);
      return object as R;
    });
    const isMutation = /^\s*(insert|update|delete)\b/i.test(compiled.sql);
    const returnsRows = /\breturning\b/i.test(compiled.sql) || !isMutation;
    if (!returnsRows) {
      // DuckDB reports affected rows as a single `Count` column.
      const count = rows.length ? Number(Object.values(rows[0] as object)[0] ?? 0) : 0;
      return { rows: [], numAffectedRows: BigInt(count) };
    }
    return { rows };
  }

  // biome-ignore lint/correctness/useYield: a stream DuckDB cannot give; it throws before any row.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streamQuery is not supported on DuckDB; page with keyset queries instead');
  }
}

function toDuckDBParameter(value: unknown): DuckDBValue {
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return null;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value as DuckDBValue;
}

/** Serialises use of the single connection: Kysely may ask for it from concurrent async paths. */
class ConnectionQueue {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

class DuckDBDriver implements Driver {
  private readonly queue = new ConnectionQueue();
  private readonly releases = new Map<DatabaseConnection, () => void>();
  private readonly wrapped: DuckDBKyselyConnection;

  constructor(connection: DuckDBConnection) {
    this.wrapped = new DuckDBKyselyConnection(connection);
  }

  async init() {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.queue.acquire();
    this.releases.set(this.wrapped, release);
    return this.wrapped;
  }

  async beginTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('begin transaction'));
  }

  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(connection: DatabaseConnection) {
    const release = this.releases.get(connection);
    this.releases.delete(connection);
    release?.();
  }

  async destroy() {}
}

export class DuckDBDialect implements Dialect {
  constructor(private readonly connection: DuckDBConnection) {}

  createDriver(): Driver {
    return new DuckDBDriver(this.connection);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
