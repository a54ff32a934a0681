/**
 * The row hash stored in the snapshot: what tells a changed row from an unchanged one (README, "Row
 * hashes"). A 64-bit hash computed by the state database, written as decimal text:
 * - DuckDB warehouse attached to DuckDB state: DuckDB's `hash()` of the mapped values themselves, with
 *   the mapping's field names and column types folded in, so no payload JSON is built for a row that is
 *   not sent (building it was ~80% of a 10M-row plan);
 * - any other pairing: the state database's 64-bit hash of the payload text (`hash(payload)` in DuckDB,
 *   `hashtextextended(payload, 0)` in PostgreSQL), since those rows arrive as payload text anyway.
 * Snapshots written before (md5 of the payload text, 32 hex characters) stay readable: a stored hash of
 * that length is compared with the md5 of the row's payload, so an upgrade sends nothing again.
 * The function can change between library versions: its identity (engine, function and a fingerprint,
 * the hashes of fixed probe values) is kept per sync in `sync_state.row_hash_identity`; when it differs
 * from the current one, every row hashed under the old one counts as changed and is sent again.
 */
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './canonical-key.js';
import { quoteLiteral } from '../db/sql-text.js';
import { postgresNumericJson } from './payload-sql.js';
import type { StateStore } from '../state/state-store.js';

/**
 * What the hash is of, which decides it: the typed values (a DuckDB warehouse attached to DuckDB state;
 * a PostgreSQL warehouse in the state's database) or the payload text (any other pairing, and syncs
 * that a PostgreSQL database hashed so before).
 */
export type HashInput = 'values' | 'payload';

/** Length of a legacy md5 row hash (hex); the new hashes are at most 20 decimal digits. */
export const LEGACY_HASH_LENGTH = 32;

/** True (in SQL) when stored hash `x` is a legacy md5, compared by `legacyHashSql` of the payload. */
export const isLegacyHashSql = (x: string) => `length(${x}) = ${LEGACY_HASH_LENGTH}`;

/** The legacy hash: md5 of the payload text, the same in DuckDB and PostgreSQL. */
export const legacyHashSql = (payload: string) => `md5(${payload})`;

/** The 64-bit hash of a payload text in the state database, as decimal text. */
export function payloadHashSql(dialect: SqlDialect, payload: string): string {
  return dialect === 'postgres' ? `hashtextextended(${payload}, 0)::text` : `cast(hash(${payload}) as varchar)`;
}

const FLOATS = new Set(['FLOAT', 'DOUBLE', 'REAL']);

/**
 * DuckDB: the 64-bit hash (UBIGINT) of a row's mapped values, columns `c0…cN` of `alias` in mapping
 * order. `types` are their DuckDB types. DuckDB's hash ignores what the payload shows, so it is folded in: field names and types
 * (INTEGER 1 and BIGINT 1, TIMESTAMP and TIMESTAMPTZ of the same instant, structs with other field
 * names hash alike) go in as one constant, and a float's sign bit (hash(-0.0) = hash(0.0)) as a value.
 */
export function valuesHashSql(mapping: Record<string, string>, types: string[], alias: string): string {
  const signature = JSON.stringify(Object.keys(mapping).map((field, i) => [field, types[i]]));
  const parts = [quoteLiteral(signature)];
  types.forEach((_, i) => {
    const value = `${alias}.c${i}`;
    parts.push(value);
    if (FLOATS.has(types[i].toUpperCase())) parts.push(`signbit(${value})`);
  });
  return `hash(${parts.join(', ')})`;
}

/**
 * PostgreSQL warehouse and state in one database: the 64-bit hash of a row's mapped values, columns
 * `c0…cN` of `alias`, as decimal text. The row's text (every type's own output, in the session's fixed
 * settings: session-settings.ts) tells apart what the payload tells apart; field names and types are
 * folded in, since 1 as integer and '1' as text have one row text but two payloads. Hashing the row's text
 * took 0.45 s for 1M rows of the bench model, its payload 1.3 s to build.
 */
export function postgresValuesHashSql(mapping: Record<string, string>, types: string[], alias: string): string {
  const signature = JSON.stringify(Object.keys(mapping).map((field, i) => [field, types[i]]));
  const values = types.map((type, i) => postgresHashedValue(type, `${alias}.c${i}`));
  const row = types.length === 0 ? `''` : `row(${values.join(', ')})::text`;
  return `hashtextextended(${quoteLiteral(signature)} || ${row}, 0)::text`;
}

/** Built-in scalar types (and arrays of them) whose text tells apart every value their JSON does. */
const ROW_TEXT_TYPES = new Set([
  'smallint',
  'integer',
  'bigint',
  'real',
  'double precision',
  'text',
  'character varying',
  'character',
  'boolean',
  'date',
  'time without time zone',
  'time with time zone',
  'timestamp without time zone',
  'timestamp with time zone',
  'interval',
  'uuid',
  'bytea',
  'json',
  'jsonb',
]);

/**
 * What of a value of `type` goes into the hashed row. A numeric goes in as its payload text (a scale
 * change, 1.50 to 1.500, changes the row text and not the JSON, and sent rows again); a composite,
 * record, enum, domain or other type as its JSON (a composite's row text has no field names: renaming
 * one changed the payload, not the row text, and the row went unsent); built-in scalars as themselves.
 */
function postgresHashedValue(type: string, value: string): string {
  if (type === 'numeric') return postgresNumericJson(value);
  return ROW_TEXT_TYPES.has(type.replace(/(\[\])+$/, '')) ? value : `to_json(${value})::text`;
}

/** The values probed for the fingerprint: one of each kind a model commonly maps. */
const DUCKDB_PROBE = `hash('probe', 42::bigint, 42::integer, -1.5::double, 12.30::decimal(10,2), 'text é', true, null,
  date '2026-01-02', timestamp '2026-01-02 03:04:05.6', timestamptz '2026-01-02 03:04:05+00', [1, 2], {'a': 'b'})`;
const POSTGRES_PROBE = `hashtextextended('{"probe":42,"t":"text é"}', 0)`;
/** Also the types' output functions, which the row text depends on. */
const POSTGRES_VALUES_PROBE = `hashtextextended(row(42::bigint, 42::integer, 'text é'::text, -1.5::float8, 1e-7::float4,
  12.30::numeric(10,2), true, null::integer, date '2026-01-02', timestamp '2026-01-02 03:04:05.6',
  timestamptz '2026-01-02 03:04:05+00', interval '1 day 02:03:04', array[1, 2], '{"a": [1, "b"]}'::jsonb,
  '{"a":1}'::json, '\\x01ff'::bytea, 'b0f1a2c3-0000-4000-8000-000000000000'::uuid, time '03:04:05')::text, 0)`;

/**
 * The identity of the hash this store computes for `input`: engine, function and fingerprint. Two
 * library versions whose hash gives the same probe answers share it (a DuckDB upgrade that keeps
 * `hash()` costs nothing); one that changes them sends every row again, once.
 */
export async function rowHashIdentity(store: StateStore, input: HashInput, warehouse?: HashProber): Promise<string> {
  const db = store.db as unknown as Kysely<any>;
  // The values of a PostgreSQL warehouse are hashed by PostgreSQL, whichever database holds the state.
  if (input === 'values' && (store.dialect === 'postgres' || warehouse)) {
    const probe = `select ${POSTGRES_VALUES_PROBE} as h`;
    const fingerprint = warehouse ? await warehouse.probe(probe) : (await sql.raw<{ h: unknown }>(probe).execute(db)).rows[0].h;
    return `postgres:hashtextextended(values):${String(fingerprint)}`;
  }
  const probe = store.dialect === 'postgres' ? POSTGRES_PROBE : DUCKDB_PROBE;
  const fingerprint = String((await sql.raw<{ h: unknown }>(`select ${probe} as h`).execute(db)).rows[0].h);
  const fn = `${store.dialect === 'postgres' ? 'hashtextextended' : 'hash'}(${input})`;
  return `${store.dialect}:${fn}:${fingerprint}`;
}

/** A PostgreSQL warehouse's connection, which hashes the values of DuckDB state's syncs. */
export interface HashProber {
  probe(text: string): Promise<unknown>;
}

/** The identity the sync's stored (non-legacy) hashes were made with; null before the first run. */
export async function storedRowHashIdentity(store: StateStore, syncName: string): Promise<string | null> {
  const db = store.db as unknown as Kysely<any>;
  const row = (await sql<{ id: string | null }>`select row_hash_identity as id from sync_state where sync_name = ${syncName}`.execute(db))
    .rows[0];
  return row?.id ?? null;
}
