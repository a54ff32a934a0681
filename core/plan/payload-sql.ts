/**
 * The payload of a row: its mapped values as JSON text, built by the warehouse's own SQL on every
 * planning path (attached, same database, or streamed to another state store), so one row always
 * gets one text and one hash. How each type is rendered (README, "How values are rendered"):
 * - integers and decimals: a JSON number with every digit; decimals lose trailing fractional zeros
 *   (1.50 → 1.5, 2.00 → 2), so a value has one text whatever its scale;
 * - floats: a JSON number, the shortest digits that read back as the same value, as the engine prints
 *   them; NaN and ±Infinity are written as bare tokens, which the worker turns into a failed row;
 * - timestamps with time zone: a string in UTC, `2026-01-01T08:30:00Z` (fraction only when non-zero);
 *   timestamps without: `2026-01-01T08:30:00`, never shifted; everything else (text, booleans, dates,
 *   times, lists, JSON) as the engine's own JSON function writes it.
 * The CASE on the value's type is decided when the statement is planned (DuckDB folds `typeof`);
 * every branch binds for any column type because it starts from a text cast.
 */
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';

/** Drops trailing fractional zeros, and the point when nothing is left after it. Same in both engines (RE2, ARE). */
const TRIM_ZEROS = `'(\\.[0-9]*[1-9])0+$|\\.0+$'`;
/** `2026-01-01 08:30:00.5` → `"2026-01-01T08:30:00.5"`; infinity and BC dates keep the engine's text. */
const ISO_TIMESTAMP = `'^([0-9]{4,}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?)$'`;

/** The planner's statements keep the model on its own lines, so DuckDB's "LINE n" is the model file's. */
const ONE_LINE = /\s*\n\s*/g;

const DUCKDB_INTEGERS = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'BIGNUM'];

function duckdbValueJson(x: string): string {
  const text = `cast(${x} as varchar)`;
  const timestamp = (t: string, zone: string) =>
    `to_json(regexp_replace(${t}, ${ISO_TIMESTAMP}, '\\1T\\2${zone}'))::varchar`;
  return `coalesce(case
    when typeof(${x}) in (${DUCKDB_INTEGERS.map(quoteLiteral).join(', ')}) then ${text}
    when typeof(${x}) like 'DECIMAL(%' then regexp_replace(${text}, ${TRIM_ZEROS}, '\\1')
    when typeof(${x}) in ('FLOAT', 'DOUBLE') then case
      when ${text} like '%nan' then 'NaN' when ${text} = 'inf' then 'Infinity' when ${text} = '-inf' then '-Infinity'
      else regexp_replace(${text}, '\\.0$', '') end
    when typeof(${x}) = 'TIMESTAMP WITH TIME ZONE'
      then ${timestamp(`cast(timezone('UTC', cast(${text} as timestamptz)) as varchar)`, 'Z')}
    when typeof(${x}) in ('TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS') then ${timestamp(text, '')}
    else cast(to_json(${x}) as varchar) end, 'null')`.replace(ONE_LINE, ' ');
}

function postgresValueJson(x: string): string {
  const is = (...types: string[]) => `pg_typeof(${x}) in (${types.map((t) => `${quoteLiteral(t)}::regtype`).join(', ')})`;
  return `coalesce(case
    when ${is('smallint', 'integer', 'bigint', 'real', 'double precision')} then ${x}::text
    when ${is('numeric')} then regexp_replace(${x}::text, ${TRIM_ZEROS}, '\\1')
    when ${is('timestamp with time zone')}
      then to_json(regexp_replace((${x}::text::timestamptz at time zone 'UTC')::text, ${ISO_TIMESTAMP}, '\\1T\\2Z'))::text
    else to_json(${x})::text end, 'null')`.replace(ONE_LINE, ' ');
}

/** `{"field":value,…}` in mapping order, keys escaped by JSON's rules. */
function objectSql(mapping: Record<string, string>, alias: string, valueJson: (x: string) => string): string {
  if (Object.keys(mapping).length === 0) return `'{}'`;
  const parts = Object.entries(mapping).map(
    ([field, column], i) => `${quoteLiteral(`${i === 0 ? '{' : ','}${JSON.stringify(field)}:`)} || ${valueJson(`${alias}.${quoteIdent(column)}`)}`,
  );
  return `(${parts.join(' || ')} || '}')`;
}

/**
 * DuckDB: the payload of a row of `alias` as JSON text, keyed by destination field in mapping order.
 * Exported so the benchmark seeds snapshots with exactly the engine's definition.
 */
export function duckdbPayloadSql(mapping: Record<string, string>, alias = 'm'): string {
  return objectSql(mapping, alias, duckdbValueJson);
}

/** PostgreSQL: the same payload text as `duckdbPayloadSql` for the same values. */
export function postgresPayloadSql(mapping: Record<string, string>, alias = 'm'): string {
  return objectSql(mapping, alias, postgresValueJson);
}

/** The row hash stored in the snapshot: md5 of the payload text (the same in DuckDB and PostgreSQL). */
export function rowHashSql(payload: string): string {
  return `md5(${payload})`;
}
