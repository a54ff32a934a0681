/**
 * A sync never runs concurrently with itself. DuckDB state: the file lock already admits one process.
 * PostgreSQL state: a session advisory lock per sync, held on the store's single connection.
 */
import { sql } from 'kysely';
import type { StateStore } from '../state/state-store.js';
import { UserError } from '../../shared/errors.js';

/** Advisory locks are per database: the state tables' schema is part of the id, so two projects whose
 * state lives in different schemas of one database never block each other's syncs of the same name. */
function lockId(schema: string, syncName: string): bigint {
  return advisoryLockId(`hightouch-like:${schema}:${syncName}`);
}

/** A 64-bit FNV-1a hash of the key, as PostgreSQL's signed bigint lock id. */
export function advisoryLockId(key: string): bigint {
  let h = 1469598103934665603n;
  for (const ch of Buffer.from(key)) h = ((h ^ BigInt(ch)) * 1099511628211n) & 0xffffffffffffffffn;
  return BigInt.asIntN(64, h);
}

export async function lockSync(store: StateStore, syncName: string, file: string): Promise<() => Promise<void>> {
  if (store.dialect !== 'postgres') return async () => {};
  const schema = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db)).rows[0].schema ?? '';
  const id = lockId(schema, syncName).toString();
  const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${id}::bigint) as ok`.execute(store.db);
  if (!got.rows[0].ok) {
    throw new UserError(`sync ${syncName} is already running in another process`, {
      file,
      hint: 'wait for that run to finish; a sync never runs twice at once.',
    });
  }
  return async () => {
    await sql`select pg_advisory_unlock(${id}::bigint)`.execute(store.db);
  };
}
