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
import { MODEL_VIEW, POSTGRES_VIEW_TYPES_SQL, PostgresWarehouse, modelSqlError, openWarehouse, type Warehouse } from '../db/warehouse.js';
import { copyPostgresIntoDuckDB, mappedTypes, postgresRowSql, sameHashSql } from './stage-postgres.js';
import { isPlainPostgresRead } from './model-shape.js';
import { UserError } from '../../shared/errors.js';
import { canonicalKeySql } from './canonical-key.js';
import { duckdbPayloadSql, mappedColumnsSql, postgresPayloadSql } from './payload-sql.js';
import { payloadHashSql, valuesHashSql, type HashInput } from './row-hash.js';

const STREAM_CHUNK = 2000;

/**
 * `ht_model`'s columns: the canonical key, the payload (null where the row's hash matched the snapshot's),
 * the row hash (null: the planner hashes the payload), the match value staged apart, and whether the key
 * is in the snapshot (`known`, set where the staging compared them).
 */
const STAGED_COLUMNS = ['pk', 'payload', 'row_hash', 'mv', 'known'];

/**
 * DuckDB state: `ht_model` also holds the row hash as a number where the staging has it
 * (row-hash-number.ts), null elsewhere; the staged plan compares numbers (planner.ts).
 */
export const STAGED_NUMBER = 'row_hash_u64';

export { duckdbPayloadSql, mappedColumnsSql } from './payload-sql.js';

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
 * value is staged apart (`mv`) when rows may share it. `hash`: what the row hash is of (row-hash.ts).
 */
export interface UnchangedRows {
  snapshot: string;
  sameFunction: boolean;
  fullResync: boolean;
  matchField: string | null;
  hash: HashInput;
  /**
   * Join the snapshot fully, not only where the model has the key (PostgreSQL, one database, no pending
   * keys): its keys the model lacks are staged too (`present` false), and every staged row carries what the
   * diff needs of its snapshot row, so the diff reads `ht_model` alone (FUSED_COLUMNS). At 10M rows the
   * diff's own join of model and snapshot took 15 s of a 46 s plan.
   */
  fused: boolean;
}

/** `ht_model`'s columns when `fused`: whether the model has the key, and the snapshot row's hash and id where it is not unchanged. */
const FUSED_COLUMNS = { present: 'boolean', stored_hash: 'text', destination_id: 'text' };

/**
 * PostgreSQL, one database: the model's rows hashed and compared with the snapshot as they are staged,
 * so that only the rows that may be sent get a payload: with `hash: 'values'` the row's values are hashed
 * and the payload is built for those rows alone (1M rows: 0.45 s to hash every row, against 1.3 s to
 * build every payload); with `'payload'` (syncs hashed so before) every payload is built to be hashed,
 * and kept for those rows alone. Any row whose stored hash is not this function's (a legacy md5,
 * another identity) keeps its payload. Subqueries are fenced (`offset 0`) so that PostgreSQL computes
 * the key, the payload and the hash once per row, not once per reference.
 */
function narrowPostgresSql(sync: SyncConfig, pk: string, unchanged: UnchangedRows, types: string[]): string {
  const row = postgresRowSql(sync, pk, types, unchanged.matchField);
  const same = (h: string) => sameHashSql(unchanged, 's.row_hash', h);
  // `x`: the key, the mapped columns and the hash `h`; `payload` built from `x` where hashes differ.
  const staged = (x: string, payload: string) =>
    unchanged.fused
      ? // `x.present` is null on the snapshot's side of the join alone: a key the model lacks.
        `insert into ht_model (pk, payload, row_hash, mv, known, ${Object.keys(FUSED_COLUMNS).join(', ')})
    select coalesce(x.pk, s.primary_key), case when x.present is null or ${same('x.h')} then null else ${payload} end, x.h,
      case when x.present is null then null else ${row.matchValue('x')} end, s.primary_key is not null, x.present is not null,
      case when ${same('x.h')} then null else s.row_hash end, case when ${same('x.h')} then null else s.destination_id end
    from (select x.*, true as present from ${x} x) x
    full outer join ${unchanged.snapshot} s on s.primary_key = x.pk`
      : `insert into ht_model (pk, payload, row_hash, mv, known)
    select x.pk, case when ${same('x.h')} then null else ${payload} end, x.h, ${row.matchValue('x')},
      s.primary_key is not null
    from ${x} x
    left join ${unchanged.snapshot} s on s.primary_key = x.pk`;
  if (unchanged.hash === 'values') return staged(`(select r.*, ${row.hash('r')} as h from (${row.rows}) r offset 0)`, row.payload('x'));
  return staged(
    `(select p.*, ${payloadHashSql('postgres', 'p.payload')} as h
      from (select r.*, ${row.payload('r')} as payload from (${row.rows}) r offset 0) p offset 0)`,
    'x.payload',
  );
}

export async function stageModel(
  store: StateStore,
  project: ProjectConfig,
  sync: SyncConfig,
  model: ModelConfig,
  unchanged?: UnchangedRows,
  opened?: Warehouse,
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
          cast(h as varchar) as row_hash, cast(null as varchar) as mv, cast(null as boolean) as known, h as ${STAGED_NUMBER}
        from (select *, ${valuesHashSql(sync.mapping, types, 'x')} as h from (select ${pk} as pk${columns} from ${MODEL_VIEW} as m) x) x`,
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
    const fused = unchanged?.fused
      ? Object.entries(FUSED_COLUMNS)
          .map(([name, type]) => `, ${name} ${type}`)
          .join('')
      : '';
    await sql.raw(`create temp table ht_model (pk text, payload text, row_hash text, mv text, known boolean${fused})`).execute(db);
    try {
      await store.defineModelView(model, MODEL_VIEW);
      const declared = (await sql.raw<{ name: string; type: string }>(POSTGRES_VIEW_TYPES_SQL).execute(db)).rows;
      const types = mappedTypes(sync.mapping, new Map(declared.map((r) => [r.name, r.type])));
      await store.runReadOnly(
        unchanged
          ? narrowPostgresSql(sync, pk, unchanged, types)
          : `insert into ht_model (pk, payload) select ${pk} as pk, ${postgresPayloadSql(sync.mapping)} as payload from ${MODEL_VIEW} as m`,
      );
    } catch (error) {
      throw error instanceof UserError ? error : modelSqlError(model, error, null);
    } finally {
      await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
    }
    return;
  }

  const numbered = store.dialect === 'duckdb';
  await sql
    .raw(
      `create temp table ht_model (pk text, payload text, row_hash text, mv text, known boolean${numbered ? `, ${STAGED_NUMBER} ubigint` : ''})`,
    )
    .execute(db);
  // The Appender fills every column: the number, where there is one, is left to the plan to read.
  const tail: null[] = numbered ? [null] : [];
  const warehouse = opened ?? (await openWarehouse(project));
  try {
    if (warehouse instanceof PostgresWarehouse && store.dialect === 'duckdb' && unchanged?.hash === 'values') {
      const { types, plan } = await warehouse.describe(model);
      const row = postgresRowSql(sync, pk, mappedTypes(sync.mapping, types), unchanged.matchField);
      if (isPlainPostgresRead(plan) && (await copyPostgresIntoDuckDB(store, warehouse, model, row, unchanged))) return;
      // Not a plain read, or its second read differed: every row through Node, with its values hash.
      const query = `select r.pk, ${row.payload('r')} as payload, ${row.hash('r')} as h, ${row.matchValue('r')} as mv from (${row.rows}) r`;
      for await (const rows of warehouse.streamQuery(model, query, STREAM_CHUNK)) {
        const values = rows.map((r) => [r.pk as string | null, r.payload as string, r.h as string, r.mv as string | null, null, ...tail]);
        await store.appendTemp('ht_model', STAGED_COLUMNS, values);
      }
      return;
    }
    const payload = warehouse.dialect === 'duckdb' ? duckdbPayloadSql(sync.mapping) : postgresPayloadSql(sync.mapping);
    const selectList = `${pk} as ${quoteIdent('__pk')}, ${payload} as ${quoteIdent('__payload')}`;
    for await (const rows of warehouse.stream(model, selectList, STREAM_CHUNK)) {
      const values = rows.map((row) => [(row.__pk as string | null) ?? null, row.__payload as string, null, null, null, ...tail]);
      await store.appendTemp('ht_model', STAGED_COLUMNS, values);
    }
  } finally {
    if (!opened) await warehouse.close();
  }
}
