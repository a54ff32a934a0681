/**
 * The SQL each write runs. Every statement takes the batch as one jsonb parameter expanded with
 * `jsonb_populate_record(set)(NULL::<table>, …)`: values get the table's own column types (typmods
 * included, so an over-long varchar is an error rather than a silent cut), and a 5,000-row batch of
 * many columns stays clear of postgres' 65,535 bind-parameter limit.
 */
import { sql, type RawBuilder } from 'kysely';
import type { PostgresTarget } from './settings.js';

function parts(target: PostgresTarget) {
  const table = sql.id(target.schema, target.table);
  return {
    table,
    key: sql.id(target.key.field),
    columns: sql.join(target.columns.map((c) => sql.id(c))),
    selected: sql.join(target.columns.map((c) => sql.id('v', c))),
    fromBatch: (json: string) => sql`jsonb_populate_recordset(NULL::${table}, ${json}::jsonb) AS v`,
    nonKey: target.columns.filter((c) => c !== target.key.field),
  };
}

/** INSERT … ON CONFLICT (key) DO UPDATE: modes upsert and mirror. */
export function upsertStatement(target: PostgresTarget, json: string): RawBuilder<unknown> {
  const { table, key, columns, selected, fromBatch, nonKey } = parts(target);
  const action =
    nonKey.length === 0 ? sql`DO NOTHING` : sql`DO UPDATE SET ${sql.join(nonKey.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`))}`;
  return sql`INSERT INTO ${table} (${columns}) SELECT ${selected} FROM ${fromBatch(json)} ON CONFLICT (${key}) ${action}`;
}

/** INSERT … ON CONFLICT (key) DO NOTHING: mode insert, where a key already present is a success. */
export function insertStatement(target: PostgresTarget, json: string): RawBuilder<unknown> {
  const { table, key, columns, selected, fromBatch } = parts(target);
  return sql`INSERT INTO ${table} (${columns}) SELECT ${selected} FROM ${fromBatch(json)} ON CONFLICT (${key}) DO NOTHING`;
}

/**
 * UPDATE … FROM the batch, returning the 1-based position of each row that matched a key, so the
 * client can fail the others as NOT_FOUND. Positions come from the array, not a column of the table,
 * so no table column name can clash with them.
 */
export function updateStatement(target: PostgresTarget, json: string): RawBuilder<{ n: string }> {
  const { table, nonKey } = parts(target);
  // With only the key mapped there is nothing to change; setting the key to itself still reports the match.
  const assigned = nonKey.length === 0 ? [target.key.field] : nonKey;
  const sets = sql.join(assigned.map((c) => sql`${sql.id(c)} = ${sql.id('v', c)}`));
  return sql<{ n: string }>`UPDATE ${table} AS t SET ${sets}
    FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS e(doc, n),
      LATERAL jsonb_populate_record(NULL::${table}, e.doc) AS v
    WHERE ${sql.id('t', target.key.field)} = ${sql.id('v', target.key.field)}
    RETURNING e.n`;
}

/** DELETE … WHERE key = ANY(batch keys): deleting a key that is already gone is a success. */
export function deleteStatement(target: PostgresTarget, json: string): RawBuilder<unknown> {
  const { table, key, fromBatch } = parts(target);
  return sql`DELETE FROM ${table} WHERE ${key} = ANY (ARRAY(SELECT ${sql.id('v', target.key.field)} FROM ${fromBatch(json)}))`;
}
