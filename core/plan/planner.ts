/**
 * The plan: the model's rows against the snapshot of what the destination acknowledged, joined on the
 * primary key inside the state database. The change set lands in `ht_plan`, numbered by `seq` in send
 * order, so the executor can page through it without holding it in memory.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ProjectConfig, SyncConfig, SyncMode } from '../config/types.js';
import type { StateStore } from '../db/state-store.js';
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

export async function buildPlan(
  store: StateStore,
  project: ProjectConfig,
  sync: SyncConfig,
  options: { fullResync: boolean },
): Promise<Plan> {
  const db = store.db as unknown as Kysely<any>;
  await stageModel(store, project, sync, project.models[sync.model]);
  const ops = opFor(sync.mode);
  const opCase = (change: 'added' | 'changed' | 'removed') =>
    ops[change] === null ? sql`null` : sql.lit(ops[change]);

  await sql`drop table if exists ht_plan`.execute(db);
  // Sendable rows first (inserts and updates before deletes), then rows kept only for counting.
  await sql`
    create temp table ht_plan as
    with m as (
      select pk, payload, md5(payload) as row_hash, 1 as present,
             count(*) over (partition by pk) as copies
      from ht_model
    ),
    s as (
      select primary_key, row_hash, destination_id, 0 as maybe_sent
      from sync_snapshots where sync_name = ${sql.lit(sync.name)}
      union all
      -- Sent by a run that was killed before the destination's answer was committed: the row may
      -- exist there, so it can be "removed", but it was never acknowledged, so it is still "added".
      select primary_key, null, null, 1
      from sync_pending p where sync_name = ${sql.lit(sync.name)}
        and not exists (select 1 from sync_snapshots x where x.sync_name = p.sync_name and x.primary_key = p.primary_key)
    ),
    joined as (
      select
        coalesce(m.pk, s.primary_key) as pk,
        case
          when m.present is null then 'removed'
          when m.pk is null then 'invalid_null'
          when m.copies > 1 then 'invalid_duplicate'
          when s.primary_key is null or s.maybe_sent = 1 then 'added'
          when ${sql.lit(options.fullResync)} or m.row_hash <> s.row_hash then 'changed'
          else 'unchanged'
        end as change,
        m.payload, m.row_hash, s.destination_id
      from m full outer join s on m.pk = s.primary_key
    ),
    classified as (
      select j.*,
        case j.change
          when 'added' then ${opCase('added')}
          when 'changed' then ${opCase('changed')}
          when 'removed' then ${opCase('removed')}
        end as op,
        f.primary_key is not null as retrying
      from joined j
      left join (select primary_key from failed_rows where sync_name = ${sql.lit(sync.name)}) f on f.primary_key = j.pk
      where j.change <> 'unchanged'
    )
    select
      case when op is null then null
           else row_number() over (order by case when op is null then 1 else 0 end, case op when 'delete' then 1 else 0 end, pk)
      end as seq,
      pk, change, op, payload, row_hash, destination_id, retrying
    from classified
    order by seq nulls last
  `.execute(db);

  const counts = await countPlan(db);
  const invalidSample = (
    await sql<{ pk: string | null; change: Change }>`
      select pk, change from ht_plan where change like 'invalid%' order by pk limit ${sql.lit(INVALID_SAMPLE)}`.execute(db)
  ).rows.map((r) => ({
    key: r.pk,
    reason: r.change === 'invalid_null' ? ('null primary key' as const) : ('duplicate primary key' as const),
  }));
  return { sync: sync.name, mode: sync.mode, fullResync: options.fullResync, counts, invalidSample, mappingHash: mappingHash(sync) };
}

async function countPlan(db: Kysely<any>): Promise<PlanCounts> {
  const rows = (
    await sql<{ change: Change; op: string | null; retrying: boolean; n: number }>`
      select change, op, retrying, count(*) as n from ht_plan group by change, op, retrying`.execute(db)
  ).rows;
  const modelRows = Number((await sql<{ n: number }>`select count(*) as n from ht_model`.execute(db)).rows[0].n);
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
}

/** Sendable rows with `after < seq <= after + size`, in send order. */
export async function readPlanPage(store: StateStore, after: number, size: number): Promise<PlannedRow[]> {
  const db = store.db as unknown as Kysely<any>;
  const rows = (
    await sql<PlannedRow>`
      select seq, pk, op, payload, row_hash, destination_id from ht_plan
      where seq > ${after} and seq <= ${after + size} order by seq`.execute(db)
  ).rows;
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
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
    on conflict (sync_name, primary_key) do nothing`.execute(db);
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
