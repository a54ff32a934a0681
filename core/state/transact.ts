/**
 * Runs SQL statements in one transaction. On DuckDB they go to the database as one text (one round
 * trip instead of a prepare, bind and run per statement); PostgreSQL runs them on one pooled connection.
 */
import { sql } from 'kysely';
import type { StateStore } from './state-store.js';

export async function transact(store: StateStore, statements: string[]): Promise<void> {
  if (store.dialect === 'postgres') {
    await store.db.transaction().execute(async (trx) => {
      for (const statement of statements) await sql.raw(statement).execute(trx);
    });
    return;
  }
  try {
    await sql.raw(`begin transaction;\n${statements.join(';\n')};\ncommit`).execute(store.db);
  } catch (error) {
    await sql
      .raw('rollback')
      .execute(store.db)
      .catch(() => {});
    throw error;
  }
}
