/**
 * Puts the model's rows into the state database as `ht_model(pk, payload)`: the primary key as canonical
 * text (canonical-key.ts) and
 * the mapped values as a JSON object keyed by destination field. When the model and the state live in
 * the same database this is one SQL statement; otherwise rows stream through in chunks.
 */
import { sql, type Kysely } from 'kysely';
import type { ModelConfig, ProjectConfig, SyncConfig } from '../config/types.js';
import { sameDatabase, type StateStore } from '../db/state-store.js';
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';
import { MODEL_VIEW, modelSqlError, openWarehouse } from '../db/warehouse.js';
import { UserError } from '../errors.js';
import { canonicalKeySql } from './canonical-key.js';

const STREAM_CHUNK = 2000;

/**
 * DuckDB: the payload of a row of `alias` as JSON text, keyed by destination field in mapping order.
 * Exported so the benchmark seeds snapshots with exactly the engine's definition.
 */
export function duckdbPayloadSql(mapping: Record<string, string>, alias = 'm'): string {
  const fields = Object.entries(mapping);
  return `cast(json_object(${fields.map(([f, c]) => `${quoteLiteral(f)}, ${alias}.${quoteIdent(c)}`).join(', ')}) as varchar)`;
}

/** The row hash stored in the snapshot: md5 of the payload text (the same in DuckDB and PostgreSQL). */
export function rowHashSql(payload: string): string {
  return `md5(${payload})`;
}

export async function stageModel(store: StateStore, project: ProjectConfig, sync: SyncConfig, model: ModelConfig) {
  const db = store.db as unknown as Kysely<any>;
  await sql`drop table if exists ht_model`.execute(db);
  // Computed where the model runs (the warehouse), so every path yields the same canonical text.
  const pk = canonicalKeySql(project.warehouse.type, `m.${quoteIdent(sync.primary_key)}`);
  const fields = Object.entries(sync.mapping);

  if (store.dialect === 'duckdb' && store.attachedWarehouse) {
    const payload = duckdbPayloadSql(sync.mapping);
    await sql.raw('use warehouse').execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      await store.runReadOnly(`create temp table ht_model as select ${pk} as pk, ${payload} as payload from ${MODEL_VIEW} as m`);
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
      await sql.raw(`use ${quoteIdent(store.stateCatalog!)}`).execute(db);
    }
    return;
  }

  if (store.dialect === 'postgres' && sameDatabase(project.warehouse, project.state)) {
    // row_to_json over a sub-select has no argument limit (json_build_object stops at 50 pairs).
    const inner = fields.map(([f, c]) => `m.${quoteIdent(c)} as ${quoteIdent(f)}`).join(', ');
    await sql`create temp table ht_model (pk text, payload text)`.execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      await store.runReadOnly(
        `insert into ht_model select ${pk} as pk, (select row_to_json(x) from (select ${inner}) as x)::text as payload from ${MODEL_VIEW} as m`,
      );
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
    }
    return;
  }

  await sql`create temp table ht_model (pk text, payload text)`.execute(db);
  const warehouse = await openWarehouse(project);
  try {
    const selectList = [`${pk} as ${quoteIdent('__pk')}`, ...fields.map(([, c], i) => `m.${quoteIdent(c)} as c${i}`)].join(', ');
    for await (const rows of warehouse.stream(model, selectList, STREAM_CHUNK)) {
      const values = rows.map((row) => {
        const payload: Record<string, unknown> = {};
        fields.forEach(([field], i) => (payload[field] = row[`c${i}`] ?? null));
        return { pk: (row.__pk as string | null) ?? null, payload: JSON.stringify(payload) };
      });
      await db.insertInto('ht_model').values(values).execute();
    }
  } finally {
    await warehouse.close();
  }
}
