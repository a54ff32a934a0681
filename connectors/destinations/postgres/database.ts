/** Opens the kysely handle a postgres client writes through: as many connections as the calls it is given at once. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

export function openDatabase(url: string, connectTimeoutMs: number, connections = 1): Kysely<any> {
  const pool = new pg.Pool({
    connectionString: url,
    max: connections,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: 'hightouch-like',
  });
  // An idle connection dropped by the server emits here; unhandled, it would kill the worker.
  // The next statement gets a fresh connection and reports any failure itself.
  pool.on('error', () => {});
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}
