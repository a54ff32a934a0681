/**
 * Puts the model's rows into the state database as `ht_model(pk, payload, row_hash)`: the primary key as
 * canonical text (`canonical-key.ts`), the mapped values as a JSON object keyed by destination field
 * (`payload-sql.ts`), and the hash of the values when the warehouse is attached (`row-hash.ts`; null
 * otherwise: the planner hashes the payload). When the model and the state live in the same database this is one SQL statement;
 * otherwise rows stream through in chunks, their payload text already built by the warehouse, so every
 * path hashes a row alike.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { ModelConfig, ProjectConfig, SyncConfig } from '../config/types.js';
import { sameDatabase, type StateStore } from '../state/state-store.js';
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';
import { MODEL_VIEW, PostgresWarehouse, modelSqlError, openWarehouse } from '../db/warehouse.js';
import { UserError } from '../../shared/errors.js';
import { canonicalKeySql } from './canonical-key.js';
import { duckdbPayloadSql, payloadFieldSql, postgresPayloadSql } from './payload-sql.js';
import { payloadHashSql, valuesHashSql } from './row-hash.js';

const STREAM_CHUNK = 2000;

export { duckdbPayloadSql } from './payload-sql.js';

/** The model columns of `mapping` as `c0…cN`, in mapping order, from the model view aliased `m`. */
export function mappedColumnsSql(mapping: Record<string, string>): string {
  return Object.values(mapping)
    .map((column, i) => `m.${quoteIdent(column)} as c${i}`)
    .join(', ');
}

/** DuckDB, the model view defined: the types of the mapped columns, in mapping order (for `valuesHashSql`). */
export async function describeMapped(db: Kysely<any>, mapping: Record<string, string>): Promise<string[]> {
  if (Object.keys(mapping).length === 0) return [];
  const rows = (await sql.raw<{ column_type: string }>(`describe select ${mappedColumnsSql(mapping)} from ${MODEL_VIEW} as m`).execute(db))
    .rows;
  return rows.map((r) => r.column_type);
}

/**
 * Which staged rows may go without their payload (PostgreSQL state in the warehouse's database): those
 * whose hash equals the one `snapshot` holds for their key, made by the same function (`sameFunction`),
 * unless every row is to be sent (`fullResync`). `matchField`: the field records are matched on, whose
 * value is staged apart (`mv`) when rows may share it.
 */
export interface UnchangedRows {
  snapshot: string;
  sameFunction: boolean;
  fullResync: boolean;
  matchField: string | null;
}

/**
 * PostgreSQL, one database: the model's rows hashed and compared with the snapshot as they are staged,
 * so only the rows that may be sent keep their payload. At 1M rows writing every payload into the temp
 * table and carrying it through the plan cost more than building them (README, "How a run works").
 * Any row whose stored hash is not this function's (a legacy md5, another identity) keeps its payload.
 */
function narrowPostgresSql(rows: string, unchanged: UnchangedRows): string {
  const same = unchanged.sameFunction && !unchanged.fullResync ? `s.row_hash = x.h` : 'false';
  const mv = unchanged.matchField === null ? 'null' : payloadFieldSql('postgres', 'x.payload', unchanged.matchField);
  return `insert into ht_model (pk, payload, row_hash, mv)
    select x.pk, case when ${same} then null else x.payload end, x.h, ${mv}
    from (select r.pk, r.payload, ${payloadHashSql('postgres', 'r.payload')} as h from (${rows} offset 0) r) x
    left join ${unchanged.snapshot} s on s.primary_key = x.pk`;
}

export async function stageModel(
  store: StateStore,
  project: ProjectConfig,
  sync: SyncConfig,
  model: ModelConfig,
  unchanged?: UnchangedRows,
) {
  const db = store.db as unknown as Kysely<any>;
  await sql`drop table if exists ht_model`.execute(db);
  // Computed where the model runs (the warehouse), so every path yields the same canonical text.
  const pk = canonicalKeySql(project.warehouse.type, `m.${quoteIdent(sync.primary_key)}`);

  if (store.dialect === 'duckdb' && store.attachedWarehouse) {
    const carried = Object.fromEntries(Object.keys(sync.mapping).map((field, i) => [field, `c${i}`]));
    await sql.raw('use warehouse').execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      const types = await describeMapped(db, sync.mapping);
      const columns = Object.keys(carried).length === 0 ? '' : `, ${mappedColumnsSql(sync.mapping)}`;
      await store.runReadOnly(
        `create temp table ht_model as select pk, ${duckdbPayloadSql(carried, 'x')} as payload,
          cast(${valuesHashSql(sync.mapping, types, 'x')} as varchar) as row_hash, cast(null as varchar) as mv
        from (select ${pk} as pk${columns} from ${MODEL_VIEW} as m) x`,
      );
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
      await sql.raw(`use ${quoteIdent(store.stateCatalog!)}`).execute(db);
    }
    return;
  }

  if (store.dialect === 'postgres' && sameDatabase(project.warehouse, project.state)) {
    // CREATE is refused in a read-only transaction, INSERT into a temp table is not: create, then fill.
    await sql`create temp table ht_model (pk text, payload text, row_hash text, mv text)`.execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      const rows = `select ${pk} as pk, ${postgresPayloadSql(sync.mapping)} as payload from ${MODEL_VIEW} as m`;
      await store.runReadOnly(unchanged ? narrowPostgresSql(rows, unchanged) : `insert into ht_model (pk, payload) ${rows}`);
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
    }
    return;
  }

  await sql`create temp table ht_model (pk text, payload text, row_hash text, mv text)`.execute(db);
  const warehouse = await openWarehouse(project);
  try {
    const payload = warehouse.dialect === 'duckdb' ? duckdbPayloadSql(sync.mapping) : postgresPayloadSql(sync.mapping);
    const selectList = `${pk} as ${quoteIdent('__pk')}, ${payload} as ${quoteIdent('__payload')}`;
    if (warehouse instanceof PostgresWarehouse && store.dialect === 'duckdb' && (await copyIntoDuckDB(db, warehouse, model, selectList)))
      return;
    for await (const rows of warehouse.stream(model, selectList, STREAM_CHUNK)) {
      const values = rows.map((row) => [(row.__pk as string | null) ?? null, row.__payload as string, null, null]);
      await store.appendTemp('ht_model', ['pk', 'payload', 'row_hash', 'mv'], values);
    }
  } finally {
    await warehouse.close();
  }
}

/**
 * DuckDB reads a CSV line through a buffer of about 16 times this: 16 MiB fits the plan's 640MB cap
 * (100 MiB asked for 1.4 GiB and failed). A longer row is staged through Node instead.
 */
const CSV_MAX_LINE = 16 * 1024 * 1024;

/**
 * PostgreSQL warehouse, DuckDB state: the rows leave PostgreSQL by COPY into a CSV file in a private
 * temp directory, which DuckDB reads in bulk (1M rows: 3.1 s out, 0.6 s in, against 2.8 s through a
 * cursor and then Node's Appender). PostgreSQL's CSV quotes every text that needs it and writes NULL
 * unquoted and empty, '' quoted; DuckDB reads it back with the same rules, so a key or payload with
 * commas, quotes or line breaks arrives as it left. Returns false when DuckDB could not read the file
 * (a row over CSV_MAX_LINE): nothing is staged and the caller streams the rows instead.
 */
async function copyIntoDuckDB(db: Kysely<any>, warehouse: PostgresWarehouse, model: ModelConfig, selectList: string): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'hightouch-like-'));
  try {
    const file = join(dir, 'model.csv');
    await warehouse.copyCsv(model, selectList, file);
    try {
      await sql
        .raw(
          `insert into ht_model select pk, payload, null, null from read_csv(${quoteLiteral(file)},
            columns = {'pk': 'VARCHAR', 'payload': 'VARCHAR'}, header = false, auto_detect = false,
            delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = ${CSV_MAX_LINE})`,
        )
        .execute(db);
    } catch {
      await sql`delete from ht_model`.execute(db);
      return false;
    }
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
