/**
 * The payload of a row: its mapped values as JSON text, built by the warehouse's own SQL on every
 * planning path (attached, same database, or streamed to another state store), so one row always
 * gets one text and one hash. How each type is rendered (README, "How values are rendered"):
 * - integers and decimals: a JSON number with every digit; decimals lose trailing fractional zeros
 *   (1.50 → 1.5, 2.00 → 2), so a value has one text whatever its scale;
 * - floats: a JSON number, the shortest digits that read back as the same value, as the engine prints
 *   them; NaN and ±Infinity stay bare tokens (`NaN`, `nan`, `-inf`…), which the worker turns into a failed row;
 * - timestamps with time zone: a string in UTC, `2026-01-01T08:30:00Z` (fraction only when non-zero);
 *   timestamps without: `2026-01-01T08:30:00`, never shifted; everything else (text, booleans, dates,
 *   times, lists, JSON) as the engine's own JSON function writes it.
 * The CASE on the value's type is decided when DuckDB plans the statement (it folds `typeof`), per row
 * in PostgreSQL; every branch binds for any column type because it only uses the value's text.
 */
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';

/** The planner's statements keep the model on its own lines, so DuckDB's "LINE n" is the model file's. */
const ONE_LINE = /\s*\n\s*/g;

/** Drops trailing fractional zeros, and the point when nothing is left after it: 1.50 → 1.5, 2.00 → 2. */
const trimZeros = (text: string, hasPoint: string) => `case when ${hasPoint} then rtrim(rtrim(${text}, '0'), '.') else ${text} end`;

/** DuckDB's integer types, as `typeof` and `describe` name them. */
export const DUCKDB_INTEGERS = [
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
  'BIGNUM',
];

/**
 * DuckDB. String functions, not regular expressions: a regexp_replace per value doubled the time to
 * build 3M payloads; these take about 1.2–1.6× what json_object took (which rounded and shifted).
 * A TIMESTAMPTZ casts to `2026-01-01 08:30:00.5+00` in the session's UTC zone (session-settings.ts).
 */
function duckdbValueJson(x: string): string {
  const v = `cast(${x} as varchar)`;
  return `coalesce(case
    when typeof(${x}) in (${DUCKDB_INTEGERS.map(quoteLiteral).join(', ')}) then ${v}
    when typeof(${x}) like 'DECIMAL(%' then ${trimZeros(v, `contains(${v}, '.')`)}
    when typeof(${x}) in ('FLOAT', 'DOUBLE') then case when ends_with(${v}, '.0') then left(${v}, -2) else ${v} end
    when typeof(${x}) = 'TIMESTAMP WITH TIME ZONE'
      then '"' || case when ends_with(${v}, '+00') then left(replace(${v}, ' ', 'T'), -3) || 'Z' else replace(${v}, ' ', 'T') end || '"'
    when typeof(${x}) in ('TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS') then '"' || replace(${v}, ' ', 'T') || '"'
    else cast(to_json(${x}) as varchar) end, 'null')`.replace(ONE_LINE, ' ');
}

/** PostgreSQL: a numeric value's JSON, without trailing fractional zeros (1.50 → 1.5). */
export function postgresNumericJson(x: string): string {
  return trimZeros(`${x}::text`, `strpos(${x}::text, '.') > 0`);
}

/** PostgreSQL. `to_json` writes a timestamp as `"2026-01-01T08:30:00.5"`, with `+00:00` in a UTC session. */
function postgresValueJson(x: string): string {
  const is = (...types: string[]) => `pg_typeof(${x}) in (${types.map((t) => `${quoteLiteral(t)}::regtype`).join(', ')})`;
  const json = `to_json(${x})::text`;
  return `coalesce(case
    when ${is('smallint', 'integer', 'bigint', 'real', 'double precision')} then ${x}::text
    when ${is('numeric')} then ${postgresNumericJson(x)}
    when ${is('timestamp with time zone')} then case when right(${json}, 7) = '+00:00"' then left(${json}, -7) || 'Z"' else ${json} end
    else ${json} end, 'null')`.replace(ONE_LINE, ' ');
}

/**
 * `{"field":value,…}` in mapping order, keys escaped by JSON's rules. DuckDB joins the parts with one
 * variadic concat (faster than a chain of ||); PostgreSQL functions take at most 100 arguments, so ||.
 */
function objectSql(mapping: Record<string, string>, alias: string, engine: 'duckdb' | 'postgres'): string {
  const valueJson = engine === 'duckdb' ? duckdbValueJson : postgresValueJson;
  const parts = Object.entries(mapping).flatMap(([field, column], i) => [
    quoteLiteral(`${i === 0 ? '{' : ','}${JSON.stringify(field)}:`),
    valueJson(`${alias}.${quoteIdent(column)}`),
  ]);
  if (parts.length === 0) return `'{}'`;
  parts.push(`'}'`);
  return engine === 'duckdb' ? `concat(${parts.join(', ')})` : `(${parts.join(' || ')})`;
}

/**
 * DuckDB: the payload of a row of `alias` as JSON text, keyed by destination field in mapping order.
 * Exported so the benchmark seeds snapshots with exactly the engine's definition.
 */
export function duckdbPayloadSql(mapping: Record<string, string>, alias = 'm'): string {
  return objectSql(mapping, alias, 'duckdb');
}

/** PostgreSQL: the same payload text as `duckdbPayloadSql` for the same values. */
export function postgresPayloadSql(mapping: Record<string, string>, alias = 'm'): string {
  return objectSql(mapping, alias, 'postgres');
}

/** The text of `field` in a JSON payload (null when absent or JSON null), in the state database. */
export function payloadFieldSql(dialect: 'duckdb' | 'postgres', payload: string, field: string): string {
  if (dialect === 'postgres') return `(cast(${payload} as json) ->> ${quoteLiteral(field)})`;
  // A JSON Pointer, so any field name is one key: '~' and '/' are escaped as ~0 and ~1.
  return `json_extract_string(${payload}, ${quoteLiteral('/' + field.replace(/~/g, '~0').replace(/\//g, '~1'))})`;
}

/** The model columns of `mapping` as `c0…cN`, in mapping order, from the model view aliased `m`. */
export function mappedColumnsSql(mapping: Record<string, string>): string {
  return Object.values(mapping)
    .map((column, i) => `m.${quoteIdent(column)} as c${i}`)
    .join(', ');
}
