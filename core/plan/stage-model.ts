/**
 * Puts the model's rows into the state database as `ht_model(pk, payload, row_hash)`: the primary key as
 * canonical text (`canonical-key.ts`), the mapped values as a JSON object keyed by destination field
 * (`payload-sql.ts`), and the hash of the values when the warehouse is attached (`row-hash.ts`; null
 * otherwise: the planner hashes the payload). When the model and the state live in the same database this is one SQL statement;
 * otherwise rows stream through in chunks, their payload text already built by the warehouse, so every
 * path hashes a row alike.
 */
import { sql, type Kysely } from 'kysely';
import type { ModelConfig, ProjectConfig, SyncConfig } from '../config/types.js';
import { sameDatabase, type StateStore } from '../state/state-store.js';
import { quoteIdent } from '../db/sql-text.js';
import { MODEL_VIEW, modelSqlError, openWarehouse } from '../db/warehouse.js';
import { UserError } from '../../shared/errors.js';
import { canonicalKeySql } from './canonical-key.js';
import { duckdbPayloadSql, postgresPayloadSql } from './payload-sql.js';
import { valuesHashSql } from './row-hash.js';

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

export async function stageModel(store: StateStore, project: ProjectConfig, sync: SyncConfig, model: ModelConfig) {
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
          cast(${valuesHashSql(sync.mapping, types, 'x')} as varchar) as row_hash
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
    await sql`create temp table ht_model (pk text, payload text, row_hash text)`.execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      await store.runReadOnly(
        `insert into ht_model (pk, payload) select ${pk} as pk, ${postgresPayloadSql(sync.mapping)} as payload from ${MODEL_VIEW} as m`,
      );
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
    }
    return;
  }

  await sql`create temp table ht_model (pk text, payload text, row_hash text)`.execute(db);
  const warehouse = await openWarehouse(project);
  try {
    const payload = warehouse.dialect === 'duckdb' ? duckdbPayloadSql(sync.mapping) : postgresPayloadSql(sync.mapping);
    const selectList = `${pk} as ${quoteIdent('__pk')}, ${payload} as ${quoteIdent('__payload')}`;
    for await (const rows of warehouse.stream(model, selectList, STREAM_CHUNK)) {
      const values = rows.map((row) => [(row.__pk as string | null) ?? null, row.__payload as string, null]);
      await store.appendTemp('ht_model', ['pk', 'payload', 'row_hash'], values);
    }
  } finally {
    await warehouse.close();
  }
}
