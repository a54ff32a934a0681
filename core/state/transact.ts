/**
 * Runs SQL statements in one transaction. On DuckDB they go to the database as one text (one round
 * trip instead of a prepare, bind and run per statement); PostgreSQL runs them on one pooled connection.
 *
 * Rows to add to state tables (`appends`) go first, in the same transaction: on DuckDB through its
 * Appender, on PostgreSQL as one INSERT per table from a JSON literal the server unpacks.
 */
import { sql } from 'kysely';
import type { StateStore } from './state-store.js';
import { quoteLiteral as literal } from '../db/sql-text.js';

/** Text rows for `table`, values in the order of `columns`; the table's other columns get null. */
export interface TableAppend {
  table: string;
  columns: readonly string[];
  rows: Array<Array<string | null>>;
}

export async function transact(store: StateStore, statements: string[], appends: TableAppend[] = []): Promise<void> {
  const rows = appends.filter((a) => a.rows.length > 0);
  if (rows.length > 0 && store.dialect === 'duckdb') {
    if (!store.transactAppending) throw new Error('this DuckDB state store cannot append rows');
    await store.transactAppending(rows, statements);
    return;
  }
  const all = [...rows.map(insertFromJson), ...statements];
  if (store.dialect === 'postgres') {
    await store.db.transaction().execute(async (trx) => {
      for (const statement of all) await sql.raw(statement).execute(trx);
    });
    return;
  }
  try {
    await sql.raw(`begin transaction;\n${all.join(';\n')};\ncommit`).execute(store.db);
  } catch (error) {
    await sql
      .raw('rollback')
      .execute(store.db)
      .catch(() => {});
    throw error;
  }
}

/** PostgreSQL: one INSERT whose rows travel as one JSON text, read by the table's own column types. */
function insertFromJson(append: TableAppend): string {
  const objects = append.rows.map((row) => Object.fromEntries(append.columns.map((c, i) => [c, row[i]])));
  const columns = append.columns.map((c) => `"${c}"`).join(', ');
  return `insert into ${append.table} (${columns})
    select ${columns} from json_populate_recordset(null::${append.table}, ${literal(JSON.stringify(objects))}::json)`;
}
