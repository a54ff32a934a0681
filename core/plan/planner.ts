/**
 * The plan: the model's rows against the snapshot of what the destination acknowledged, joined on the
 * primary key inside the state database. The change set lands in `ht_plan`, numbered by `seq` in send
 * order, so the executor can page through it without holding it in memory.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ProjectConfig, SyncConfig, SyncMode } from '../config/types.js';
import type { StateStore } from '../db/state-store.js';
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';
import { modelSqlError } from '../db/warehouse.js';
import { currentSnapshotSql, settleSnapshotLog } from '../state/snapshot-log.js';
import { duckdbPayloadSql, rowHashSql } from './payload-sql.js';
import { stageModel } from './stage-model.js';

export type Change = 'added' | 'changed' | 'removed' | 'invalid_null' | 'invalid_duplicate';

export interface PlanCounts {
  model_rows: number;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  invalid: number;
  /** Rows to send that are in the failed-row index from an earlier run. */
  retrying: number;
  to_insert: number;
  to_update: number;
  to_delete: number;
  /** Rows this run will send, per the sync's mode. */
  planned: number;
}

export interface InvalidRow {
  key: string | null;
  reason: 'null primary key' | 'duplicate primary key';
}

export interface Plan {
  sync: string;
  mode: SyncMode;
  fullResync: boolean;
  counts: PlanCounts;
  /** The first invalid rows, for the log; the count is in `counts.invalid`. */
  invalidSample: InvalidRow[];
  mappingHash: string;
}

const INVALID_SAMPLE = 20;

/** The operation a change becomes under each mode; null means the mode does not send it. */
function opFor(mode: SyncMode): Record<'added' | 'changed' | 'removed', string | null> {
  switch (mode) {
    case 'insert':
      return { added: 'insert', changed: null, removed: null };
    case 'update':
      // Update mode sends every new key as an update: the record may already exist in the destination.
      return { added: 'update', changed: 'update', removed: null };
    case 'upsert':
      return { added: 'insert', changed: 'update', removed: null };
    case 'mirror':
      return { added: 'insert', changed: 'update', removed: 'delete' };
  }
}

export function mappingHash(sync: SyncConfig): string {
  return createHash('md5').update(JSON.stringify([sync.primary_key, Object.entries(sync.mapping)])).digest('hex');
}

/**
 * DuckDB's memory cap for the state store while planning and running: the diff spills to disk past it
 * (DuckDB's default is 80% of the machine's memory). Override with HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT.
 */
const DUCKDB_MEMORY_LIMIT = '640MB';

export async function buildPlan(
  store: StateStore,
  project: ProjectConfig,
  sync: SyncConfig,
  options: { fullResync: boolean },
): Promise<Plan> {
  const db = store.db as unknown as Kysely<any>;
  // What a killed run acknowledged is still in the log: the plan must see it in the snapshot.
  await settleSnapshotLog(store, sync.name);
  await sql`drop table if exists ht_plan`.execute(db);
  let modelRows: number | null = null;
  if (store.dialect === 'duckdb') {
    const limit = process.env.HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT || DUCKDB_MEMORY_LIMIT;
    await sql.raw(`set memory_limit = ${quoteLiteral(limit)}`).execute(db);
  }
  if (store.dialect === 'duckdb' && store.attachedWarehouse) {
    modelRows = await planDirect(store, project, sync, options);
  }
  if (modelRows === null) {
    await stageModel(store, project, sync, project.models[sync.model]);
    await planStaged(db, sync, options);
    modelRows = Number((await sql<{ n: number }>`select count(*) as n from ht_model`.execute(db)).rows[0].n);
    await sql`drop table if exists ht_model`.execute(db);
  }

  const counts = await countPlan(db, modelRows);
  const invalidSample = (
    await sql<{ pk: string | null; change: Change }>`
      select pk, change from ht_plan where change like 'invalid%' order by pk limit ${sql.lit(INVALID_SAMPLE)}`.execute(db)
  ).rows.map((r) => ({
    key: r.pk,
    reason: r.change === 'invalid_null' ? ('null primary key' as const) : ('duplicate primary key' as const),
  }));
  return { sync: sync.name, mode: sync.mode, fullResync: options.fullResync, counts, invalidSample, mappingHash: mappingHash(sync) };
}

/**
 * The tail shared by both strategies: `joined(pk, change, payload, row_hash, destination_id)` →
 * `ht_plan`, with the operation per mode, the retrying flag, and `seq` in send order (sendable rows
 * first, inserts and updates before deletes, then rows kept only for counting).
 */
function planTail(sync: SyncConfig, ctes: string) {
  const ops = opFor(sync.mode);
  const opCase = (change: 'added' | 'changed' | 'removed') => (ops[change] === null ? 'null' : quoteLiteral(ops[change]!));
  return `
    create temp table ht_plan as
    with ${ctes},
    classified as (
      select j.*,
        case j.change
          when 'added' then ${opCase('added')}
          when 'changed' then ${opCase('changed')}
          when 'removed' then ${opCase('removed')}
        end as op,
        f.primary_key is not null as retrying
      from joined j
      left join (select primary_key from failed_rows where sync_name = ${quoteLiteral(sync.name)}) f on f.primary_key = j.pk
      where j.change <> 'unchanged'
    )
    select
      case when op is null then null
           else row_number() over (order by case when op is null then 1 else 0 end, case op when 'delete' then 1 else 0 end, pk)
      end as seq,
      pk, change, op, payload, row_hash, destination_id, retrying
    from classified
    order by seq nulls last`;
}

/** The snapshot plus keys a killed run may have sent (pending, never acknowledged), as `s`. */
function snapshotSide(sync: SyncConfig, columns: 'full' | 'diff' | 'ids', catalog = '') {
  const name = quoteLiteral(sync.name);
  const snapshot = currentSnapshotSql(sync.name, catalog);
  // Sent by a run that was killed before the destination's answer was committed: the row may
  // exist there, so it can be "removed", but it was never acknowledged, so it is still "added".
  const pendingOnly = `from ${catalog}sync_pending p left join ${snapshot} x on x.primary_key = p.primary_key
        where p.sync_name = ${name} and x.primary_key is null`;
  if (columns === 'full') {
    return `select primary_key, row_hash, destination_id, 0 as maybe_sent from ${snapshot} c
      union all
      select p.primary_key, null, null, 1 ${pendingOnly}`;
  }
  if (columns === 'ids') {
    return `select destination_id from ${snapshot} c
      union all
      select null ${pendingOnly}`;
  }
  // Only what the full outer join needs, so its hash table stays small: the key and a 64-bit hash of
  // the stored row hash, compared with the same hash of the model row's (a false "unchanged" needs a
  // 64-bit collision between a row's old and new md5). Pending-only keys have no hash.
  return `select primary_key, hash(row_hash) as h from ${snapshot} c
      union all
      select p.primary_key, null ${pendingOnly}`;
}

/** The general strategy: the model staged as `ht_model(pk, payload)`, then one statement. */
async function planStaged(db: Kysely<any>, sync: SyncConfig, options: { fullResync: boolean }) {
  const ctes = `
    m as (
      select pk, payload, ${rowHashSql('payload')} as row_hash, 1 as present,
             count(*) over (partition by pk) as copies
      from ht_model
    ),
    s as (${snapshotSide(sync, 'full')}),
    joined as (
      select
        coalesce(m.pk, s.primary_key) as pk,
        case
          when m.present is null then 'removed'
          when m.pk is null then 'invalid_null'
          when m.copies > 1 then 'invalid_duplicate'
          when s.primary_key is null or s.maybe_sent = 1 then 'added'
          when ${options.fullResync} or m.row_hash <> s.row_hash then 'changed'
          else 'unchanged'
        end as change,
        m.payload, m.row_hash, s.destination_id
      from m full outer join s on m.pk = s.primary_key
    )`;
  await sql.raw(planTail(sync, ctes)).execute(db);
}

/**
 * DuckDB warehouse attached to a DuckDB state store: the model is read once, straight into a full
 * outer join with the snapshot, without staging it. Only rows that are not unchanged keep their key
 * and payload in `ht_diff` (a payload is built for them alone, after the join); unchanged rows leave a
 * one-byte row for the counts. Duplicate keys are found without a pass over every key:
 * - keys not in the snapshot are all kept, so duplicates among them show in `ht_diff`;
 * - keys in the snapshot: each snapshot row is matched at most once by a duplicate-free model, so the
 *   model rows that matched must number exactly the snapshot rows that did not go unmatched. If they
 *   do not, the model has a duplicate among them: return null and the caller plans the staged way,
 *   which finds every duplicate (a model with duplicate keys is an input error, so this is rare).
 * Returns the number of model rows, or null to fall back.
 */
async function planDirect(store: StateStore, project: ProjectConfig, sync: SyncConfig, options: { fullResync: boolean }): Promise<number | null> {
  const db = store.db as unknown as Kysely<any>;
  const model = project.models[sync.model];
  const catalog = `${quoteIdent(store.stateCatalog!)}.main.`;
  const fields = Object.entries(sync.mapping);
  const carried = Object.fromEntries(fields.map(([field], i) => [field, `c${i}`]));
  const columns = fields.map(([, column], i) => `m.${quoteIdent(column)} as c${i}`).join(', ');
  // Change codes: 0 removed, 1 null key, 2 added (key not in the snapshot side), 3 changed,
  // 4 unchanged, 5 added (key only pending: sent by a killed run, never acknowledged).
  // The prefix holds no newline, so DuckDB's "LINE n" in an error is the model file's line n.
  const prefix =
    `create temp table ht_diff as with m as (select cast(m.${quoteIdent(sync.primary_key)} as text) as pk, ` +
    `hash(${rowHashSql(duckdbPayloadSql(sync.mapping, 'm'))}) as h, true as present, ${columns} from (`;
  const statement = `${prefix}${model.sql}
    ) as m),
    s as (${snapshotSide(sync, 'diff', catalog)}),
    j as (
      select
        case
          when m.present is null then 0
          when m.pk is null then 1
          when s.primary_key is null then 2
          when s.h is null then 5
          when ${options.fullResync} or m.h <> s.h then 3
          else 4
        end as change,
        coalesce(m.pk, s.primary_key) as pk,
        ${fields.map((_, i) => `m.c${i}`).join(', ')}
      from m full outer join s on m.pk = s.primary_key
    )
    select change::utinyint as change,
      case when change <> 4 then pk end as pk,
      case when change in (1, 2, 3, 5) then ${duckdbPayloadSql(carried, 'j')} end as payload
    from j`;
  await sql`drop table if exists ht_diff`.execute(db);
  await sql.raw('use warehouse').execute(db);
  try {
    await sql.raw(statement).execute(db);
  } catch (error) {
    throw modelSqlError(model, error);
  } finally {
    await sql.raw(`use ${quoteIdent(store.stateCatalog!)}`).execute(db);
  }

  const groups = (
    await sql<{ change: number; n: number }>`select change, count(*) as n from ht_diff group by change`.execute(db)
  ).rows.map((r) => ({ change: Number(r.change), n: Number(r.n) }));
  const side = (
    await sql.raw<{ n: number; ids: number }>(
      `select count(*) as n, count(destination_id) as ids from (${snapshotSide(sync, 'ids')})`,
    ).execute(db)
  ).rows[0];
  const sum = (changes: number[]) => groups.filter((g) => changes.includes(g.change)).reduce((a, g) => a + g.n, 0);
  const removed = sum([0]);
  if (sum([3, 4, 5]) !== Number(side.n) - removed) {
    await sql`drop table if exists ht_diff`.execute(db);
    return null;
  }
  // Destination ids are read back only for the rows that need them, and only if the sync has any.
  const ids =
    Number(side.ids) === 0
      ? 'null'
      : `(select x.destination_id from ${currentSnapshotSql(sync.name)} x where x.primary_key = d.pk)`;

  const ctes = `
    d as (select change, pk, payload from ht_diff where change <> 4),
    dup as (select pk from d where change = 2 group by pk having count(*) > 1),
    joined as (
      select
        d.pk,
        case d.change
          when 0 then 'removed'
          when 1 then 'invalid_null'
          when 3 then 'changed'
          else case when dup.pk is null then 'added' else 'invalid_duplicate' end
        end as change,
        d.payload,
        case when d.payload is not null then ${rowHashSql('d.payload')} end as row_hash,
        ${ids} as destination_id
      from d
      left join dup on dup.pk = d.pk
    )`;
  await sql.raw(planTail(sync, ctes)).execute(db);
  await sql`drop table if exists ht_diff`.execute(db);
  return sum([1, 2, 3, 4, 5]);
}

async function countPlan(db: Kysely<any>, modelRows: number): Promise<PlanCounts> {
  const rows = (
    await sql<{ change: Change; op: string | null; retrying: boolean; n: number }>`
      select change, op, retrying, count(*) as n from ht_plan group by change, op, retrying`.execute(db)
  ).rows;
  const c: PlanCounts = {
    model_rows: modelRows, added: 0, changed: 0, removed: 0, unchanged: 0, invalid: 0, retrying: 0,
    to_insert: 0, to_update: 0, to_delete: 0, planned: 0,
  };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.change === 'invalid_null' || r.change === 'invalid_duplicate') c.invalid += n;
    else c[r.change] += n;
    if (r.op === 'insert') c.to_insert += n;
    if (r.op === 'update') c.to_update += n;
    if (r.op === 'delete') c.to_delete += n;
    if (r.op && (r.retrying === true || String(r.retrying) === 'true')) c.retrying += n;
  }
  c.planned = c.to_insert + c.to_update + c.to_delete;
  c.unchanged = modelRows - c.invalid - c.added - c.changed;
  return c;
}

export interface PlannedRow {
  seq: number;
  pk: string;
  op: 'insert' | 'update' | 'delete';
  payload: string | null;
  row_hash: string | null;
  destination_id: string | null;
  /** In the failed-row index when planned. Absent means unknown. */
  retrying?: boolean;
}

/** Sendable rows with `after < seq <= after + size`, in send order. */
export async function readPlanPage(store: StateStore, after: number, size: number): Promise<PlannedRow[]> {
  const db = store.db as unknown as Kysely<any>;
  const rows = (
    await sql<PlannedRow>`
      select seq, pk, op, payload, row_hash, destination_id, retrying from ht_plan
      where seq > ${after} and seq <= ${after + size} order by seq`.execute(db)
  ).rows;
  return rows.map((r) => ({ ...r, seq: Number(r.seq), retrying: r.retrying === true || String(r.retrying) === 'true' }));
}

/**
 * Records the sendable rows of `after < seq <= after + size` as pending before they are handed to
 * workers: one set-based statement per page, so the cost does not grow with the number of batches.
 */
export async function markPending(store: StateStore, syncName: string, runId: string, after: number, size: number): Promise<void> {
  const db = store.db as unknown as Kysely<any>;
  await sql`
    insert into sync_pending (sync_name, primary_key, run_id, "at")
    select ${syncName}, pk, ${runId}, ${new Date().toISOString()} from ht_plan
    where seq > ${after} and seq <= ${after + size} and op <> 'delete'
      and not exists (select 1 from sync_pending x where x.sync_name = ${syncName} and x.primary_key = ht_plan.pk)`.execute(db);
}

/** Keys in the failed-row index that this run will not send: they left the model or are in sync again. */
export async function dropSettledFailures(store: StateStore, sync: SyncConfig): Promise<number> {
  const db = store.db as unknown as Kysely<any>;
  const result = await sql`
    delete from failed_rows
    where sync_name = ${sql.lit(sync.name)}
      and primary_key not in (select pk from ht_plan where op is not null and pk is not null)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
