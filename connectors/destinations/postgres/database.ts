/** Opens the kysely handle a postgres client writes through: one connection, since each worker holds one client. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

export function openDatabase(url: string, connectTimeoutMs: number): Kysely<any> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: 'hightouch-like',
  });
  // An idle connection dropped by the server emits here; unhandled, it would kill the worker.
  // The next statement gets a fresh connection and reports any failure itself.
  pool.on('error', () => {});
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}
