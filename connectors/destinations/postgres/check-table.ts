/**
 * Verifies, before a run writes any state, that the sync's table can take its writes: it exists,
 * has every mapped column, has a unique key for ON CONFLICT, and the role may write it.
 */
import { sql, type Kysely } from 'kysely';
import type { SyncMode } from '../../destination.js';
import { pgCatalogue } from './errors.js';
import type { PostgresTarget } from './settings.js';

interface TableRow {
  oid: number;
  relkind: string;
  schema_usage: boolean;
  can_insert: boolean;
  can_update: boolean;
  can_delete: boolean;
}

export async function checkTable(db: Kysely<any>, target: PostgresTarget, mode: SyncMode): Promise<void> {
  const { label } = target;
  const tables = await sql<TableRow>`
    SELECT c.oid::int AS oid, c.relkind::text AS relkind,
      has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
      has_table_privilege(c.oid, 'INSERT') AS can_insert,
      has_table_privilege(c.oid, 'UPDATE') AS can_update,
      has_table_privilege(c.oid, 'DELETE') AS can_delete
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${target.schema} AND c.relname = ${target.table}`.execute(db);
  const table = tables.rows[0];
  if (!table) throw pgCatalogue.error('PG_42P01', `table ${label} does not exist in the destination database`);
  if (table.relkind !== 'r' && table.relkind !== 'p') throw pgCatalogue.error('PG_NOT_A_TABLE', `${label} is not a table`);

  const columns = await sql<{ name: string; attnum: number }>`
    SELECT attname::text AS name, attnum::int AS attnum FROM pg_attribute
    WHERE attrelid = ${table.oid} AND attnum > 0 AND NOT attisdropped`.execute(db);
  const attnums = new Map(columns.rows.map((c) => [c.name, c.attnum]));
  const missing = target.columns.filter((c) => !attnums.has(c));
  if (missing.length > 0) {
    const names = missing.map((c) => `"${c}"`).join(', ');
    throw pgCatalogue.error(
      'PG_MISSING_COLUMN',
      `table ${label} has no column ${names}; add ${missing.length > 1 ? 'them' : 'it'} or fix the mapping`,
    );
  }

  if (mode !== 'update') {
    // ON CONFLICT (key) needs a unique index on exactly that column: not partial, not on an expression, not deferred.
    const unique = await sql<{ found: number }>`
      SELECT 1 AS found FROM pg_index
      WHERE indrelid = ${table.oid} AND indisunique AND indimmediate AND indpred IS NULL
        AND indexprs IS NULL AND indnkeyatts = 1 AND indkey[0] = ${attnums.get(target.key.field)}`.execute(db);
    if (unique.rows.length === 0) {
      throw pgCatalogue.error(
        'PG_NO_UNIQUE_KEY',
        `column "${target.key.field}" of ${label} has no primary key or unique constraint, which ${mode} mode needs to match rows`,
      );
    }
  }

  const needed: Array<[string, boolean]> = [
    ['INSERT', mode !== 'update' && !table.can_insert],
    ['UPDATE', (mode === 'upsert' || mode === 'mirror' || mode === 'update') && !table.can_update],
    ['DELETE', mode === 'mirror' && !table.can_delete],
  ];
  const lacking = needed.filter(([, lacks]) => lacks).map(([privilege]) => privilege);
  if (!table.schema_usage) lacking.unshift(`USAGE on schema "${target.schema}"`);
  if (lacking.length > 0) throw pgCatalogue.error('PG_42501', `the destination role lacks ${lacking.join(', ')} on ${label}`);
}
