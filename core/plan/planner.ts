/**
 * The plan: the model's rows against the snapshot of what the destination acknowledged, joined on the
 * primary key inside the state database. The change set lands in `ht_plan`, numbered by `seq` in send
 * order, so the executor can page through it without holding it in memory.
 */
import { createHash } from 'node:crypto';
import { capDuckDBMemory, diffPhase, isOutOfMemory, postgresPlanSettings } from '../state/memory-cap.js';
import { sql, type Kysely } from 'kysely';
import { syncKey } from '../../connectors/destinations/sync-key.js';
import { getConnector } from '../../connectors/registry.js';
import type { DestinationConnector } from '../../connectors/destination.js';
import type { ProjectConfig, SyncConfig, SyncMode } from '../config/types.js';
import { sameDatabase, type StateStore } from '../state/state-store.js';
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';
import { MODEL_VIEW, type PostgresWarehouse, modelSqlError, openWarehouse } from '../db/warehouse.js';
import { UserError } from '../../shared/errors.js';
import { writeTarget } from '../config/write-target.js';
import { currentSnapshotSql, forgetPlanRowsSql, settleSnapshotLog } from '../state/snapshot-log.js';
import { transact } from '../state/transact.js';
import { addressSql, canonicalKeySql, type SqlDialect } from './canonical-key.js';
import { DUCKDB_INTEGERS, duckdbPayloadSql, payloadFieldSql } from './payload-sql.js';
import {
  type HashInput,
  isLegacyHashSql,
  legacyHashSql,
  payloadHashSql,
  rowHashIdentity,
  storedRowHashIdentity,
  valuesHashSql,
} from './row-hash.js';
import { describeMapped, mappedColumnsSql, STAGED_NUMBER, stageModel, type UnchangedRows } from './stage-model.js';
import { rowHashNumberSql } from '../state/row-hash-number.js';
import { modelIsPlainRead } from './model-shape.js';

/**
 * `superseded`: removed from the model, but an insert or update of the same run addresses the same
 * destination record, so the delete is not sent (it would remove what that write just put there).
 * `invalid_duplicate_field`: another model row has the same value of the field records are matched on.
 */
export type Change = 'added' | 'changed' | 'removed' | 'superseded' | 'invalid_null' | 'invalid_duplicate' | 'invalid_duplicate_field';

export interface PlanCounts {
  model_rows: number;
  /** Rows the destination may hold from this sync: the snapshot, plus keys a killed run sent. */
  snapshot_rows: number;
  added: number;
  changed: number;
  /** Keys that left the model, superseded ones included. */
  removed: number;
  /** Removed keys whose delete is dropped: a write of this run addresses the same record. */
  superseded: number;
  unchanged: number;
  invalid: number;
  /** Rows to send that are in the failed-row index from an earlier run. */
  retrying: number;
  /** Failed rows not sent: blocked, and unchanged since they failed (values and mapping). */
  blocked: number;
  /** Failed rows not sent: not due yet (`next_retry_at` after now: a backoff, a cadence, the timeout queue). */
  waiting: number;
  /** Failed rows not sent: due, but held back by the destination's API budget. */
  held_by_budget: number;
  to_insert: number;
  to_update: number;
  to_delete: number;
  /** Rows this run will send, per the sync's mode. */
  planned: number;
}

export interface InvalidRow {
  key: string | null;
  /** `null primary key`, `duplicate primary key`, or `duplicate <field>` for the field records are matched on. */
  reason: string;
}

export interface Plan {
  sync: string;
  mode: SyncMode;
  fullResync: boolean;
  counts: PlanCounts;
  /** The first invalid rows, for the log; the count is in `counts.invalid`. */
  invalidSample: InvalidRow[];
  mappingHash: string;
  /** The hash function of the row hashes this plan carries (core/plan/row-hash.ts), stored with them. */
  rowHashIdentity: string;
  /** How the model was read (`run_started`'s `model_read`; README "Planning"). */
  modelRead: ModelRead;
}

/**
 * `read back`: diffed on key and hash, the rows to send read again (a plain read of tables, DuckDB);
 * `read once`: the mapped columns carried through the diff (any other DuckDB model); `staged`: copied
 * into a table of the state store first (a PostgreSQL warehouse or state, or duplicate keys).
 */
export type ModelRead = 'read back' | 'read once' | 'staged';

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
  return createHash('md5')
    .update(JSON.stringify([sync.primary_key, Object.entries(sync.mapping)]))
    .digest('hex');
}

export interface PlanOptions {
  fullResync: boolean;
  /** The run's instant: failed rows due after it wait. Default: the system clock. */
  now?: Date;
  /** The API budget holds failed-row retries back this run (README "API budget"); new changes are still sent. */
  holdRetries?: boolean;
}

export async function buildPlan(store: StateStore, project: ProjectConfig, sync: SyncConfig, options: PlanOptions): Promise<Plan> {
  await postgresPlanSettings(store, true);
  try {
    return await planSync(store, project, sync, options);
  } finally {
    await postgresPlanSettings(store, false);
  }
}

async function planSync(store: StateStore, project: ProjectConfig, sync: SyncConfig, options: PlanOptions): Promise<Plan> {
  const db = store.db as unknown as Kysely<any>;
  // What a killed run acknowledged is still in the log: the plan must see it in the snapshot.
  await settleSnapshotLog(store, sync.name);
  // Usually nothing is logged or pending (a settled snapshot, no killed run): the plan then skips both.
  const none = async (table: string) =>
    Number(
      (await sql.raw<{ n: number }>(`select count(*) as n from ${table} where sync_name = ${quoteLiteral(sync.name)}`).execute(db)).rows[0]
        .n,
    ) === 0;
  const quiet: Quiet = { log: await none('sync_snapshot_log'), pending: await none('sync_pending') };
  await sql`drop table if exists ht_plan`.execute(db);
  let modelRows: number | null = null;
  let modelRead: ModelRead = 'staged';
  await capDuckDBMemory(store, 'plan');
  const side = (
    await sql
      .raw<{ n: number; ids: number }>(`select count(*) as n, count(destination_id) as ids from (${snapshotSide(sync, 'ids', quiet)}) x`)
      .execute(db)
  ).rows[0];
  const snapshotRows = Number(side.n);
  const match = matchOf(project, sync, store.dialect);
  // A PostgreSQL warehouse staged in its own database, or into DuckDB state (which its connection hashes for).
  const oneDatabase = store.dialect === 'postgres' && sameDatabase(project.warehouse, project.state);
  const intoDuckDB = store.dialect === 'duckdb' && project.warehouse.type === 'postgres';
  const warehouse = intoDuckDB ? ((await openWarehouse(project)) as PostgresWarehouse) : undefined;
  let identity: string;
  try {
    const stored = await storedRowHashIdentity(store, sync.name);
    const hashed = await rowHashOf(store, oneDatabase || intoDuckDB, stored, options, warehouse);
    const input = hashed.input;
    identity = hashed.identity;
    // Hashes made by another function cannot be compared: those rows are sent again (legacy md5 ones can).
    const hashes: Hashes = { sameFunction: stored === identity };
    if (store.dialect === 'duckdb' && store.attachedWarehouse) {
      const direct = await planDirect(store, project, sync, options, match, hashes, quiet, { rows: snapshotRows, ids: Number(side.ids) });
      if (direct) ({ rows: modelRows, read: modelRead } = direct);
    }
    if (modelRows === null) {
      // Rows whose hash matches the snapshot's are staged without their payload where the hash is taken.
      const unchanged: UnchangedRows | undefined =
        oneDatabase || intoDuckDB
          ? {
              // DuckDB state: with the number, which the PostgreSQL staging compares (stage-postgres.ts).
              snapshot: currentSnapshotSql(sync.name, '', quiet.log, store.dialect === 'duckdb'),
              sameFunction: hashes.sameFunction,
              fullResync: options.fullResync,
              matchField: checksMatchDuplicates(match) ? match.key.field : null,
              hash: input,
              // Pending keys join the snapshot side as "maybe sent" (snapshotSide): those plans diff apart.
              fused: oneDatabase && quiet.pending,
            }
          : undefined;
      // Hashed by values, the staged rows are narrow (a payload for the rows that may be sent alone): the
      // diff's cap applies. 10M rows from PostgreSQL peaked at 1.12 GiB at 640MB, 0.82 GiB at 400MB, in as long.
      if (intoDuckDB && input === 'values') await capDuckDBMemory(store, diffPhase(snapshotRows));
      await stageModel(store, project, sync, project.models[sync.model], unchanged, warehouse);
      // Without pending keys, the snapshot side counted above is the settled snapshot.
      const settled = oneDatabase ? unchanged?.snapshot : undefined;
      if (unchanged?.fused) await planFused(db, sync, options, match, hashes, snapshotRows);
      else {
        // DuckDB state compares the hashes as numbers; texts only if the sync holds a legacy md5.
        const numbers = store.dialect === 'duckdb' ? { legacy: await holdsLegacyHashes(db, sync, quiet) } : null;
        await planStaged(db, sync, options, match, hashes, quiet, numbers, settled, quiet.pending ? snapshotRows : undefined);
      }
      await capDuckDBMemory(store, 'plan');
      const present = unchanged?.fused ? ' where present' : '';
      modelRows = Number((await sql<{ n: number }>`select count(*) as n from ht_model${sql.raw(present)}`.execute(db)).rows[0].n);
      await sql`drop table if exists ht_model`.execute(db);
    }
  } finally {
    await warehouse?.close();
  }

  const counts = await countPlan(db, modelRows, snapshotRows);
  const reasons: Record<string, string> = {
    invalid_null: 'null primary key',
    invalid_duplicate: 'duplicate primary key',
    invalid_duplicate_field: `duplicate ${match.key?.field}`,
  };
  const invalidSample = (
    await sql<{ pk: string | null; change: Change }>`
      select pk, change from ht_plan where change like 'invalid%' order by pk limit ${sql.lit(INVALID_SAMPLE)}`.execute(db)
  ).rows.map((r) => ({ key: r.pk, reason: reasons[r.change] }));
  return {
    sync: sync.name,
    mode: sync.mode,
    fullResync: options.fullResync,
    counts,
    invalidSample,
    mappingHash: mappingHash(sync),
    rowHashIdentity: identity,
    modelRead,
  };
}

/**
 * What this plan's row hashes are of (row-hash.ts), and that function's identity: the values where the
 * state database reads the model's typed columns (an attached DuckDB warehouse) or PostgreSQL hashes
 * them (a PostgreSQL warehouse, in the state's database or staged into DuckDB state), else the payload
 * text. A sync over a PostgreSQL warehouse whose stored hashes are of payloads (planned by a version
 * before the values hash) keeps them until a full resync, which sends every row anyway: switching
 * would count every row as changed and send it again.
 */
async function rowHashOf(
  store: StateStore,
  postgresStaged: boolean,
  stored: string | null,
  options: PlanOptions,
  warehouse: PostgresWarehouse | undefined,
): Promise<{ input: HashInput; identity: string }> {
  if (store.dialect === 'duckdb' && store.attachedWarehouse) return { input: 'values', identity: await rowHashIdentity(store, 'values') };
  const payload = await rowHashIdentity(store, 'payload');
  if (!postgresStaged || (!options.fullResync && stored === payload)) return { input: 'payload', identity: payload };
  return { input: 'values', identity: await rowHashIdentity(store, 'values', warehouse) };
}

/** What the sync's snapshot side lacks, counted after settling: log entries (`log`), pending keys (`pending`). */
interface Quiet {
  log: boolean;
  pending: boolean;
}

/** `sameFunction`: the sync's stored (non-legacy) row hashes were made by the function this plan uses. */
interface Hashes {
  sameFunction: boolean;
}

/**
 * SQL: a model row of row hash `modelHash` and payload `payload` is unchanged since its stored hash
 * `stored` (text). A legacy md5 is compared with the md5 of the payload, whatever the function.
 */
function sameRowSql(hashes: Hashes, stored: string, modelHash: string, payload: string): string {
  return `coalesce(case when ${isLegacyHashSql(stored)} then ${legacyHashSql(payload)} = ${stored}
    else ${hashes.sameFunction} and ${modelHash} = ${stored} end, false)`;
}

/**
 * How the destination record a row addresses is found. `key` is the field records are matched on
 * (sync-key.ts: `external_id`, else the field the primary key is mapped to; null when none is, and
 * the model's primary key is the address). A planned row addresses its match field's value, or its
 * destination id once one was acknowledged; a delete carries no fields, so it addresses its
 * destination id, else its key (what the connectors send, see `rowKeyValue`).
 */
interface Match {
  key: { field: string; external: boolean } | null;
  dialect: SqlDialect;
  /** The destination's deletes go to the row's destination id (`deletesByDestinationId`), else to its key. */
  byId: boolean;
}

function matchOf(project: ProjectConfig, sync: SyncConfig, dialect: SqlDialect): Match {
  const target = writeTarget(project, sync);
  const connector = getConnector(project.destinations[sync.destination].type) as DestinationConnector;
  return { key: syncKey(target), dialect, byId: connector.deletesByDestinationId?.(target) ?? false };
}

/**
 * The failed-row index as the plan reads it, as `f`. A failed row is a retry when its values and the
 * mapping are those it failed with; otherwise it is a new change, sent by this run whatever its status.
 * A retry is held back (`held`): `blocked` while blocked, `waiting` until its `next_retry_at`. A full
 * resync holds nothing back.
 */
function failedRowsSide(sync: SyncConfig, options: PlanOptions): { join: string; retry: string; held: string } {
  const join = `left join (select primary_key, status, next_retry_at, row_hash as failed_hash, mapping_hash as failed_mapping
        from failed_rows where sync_name = ${quoteLiteral(sync.name)}) f on f.primary_key = j.pk`;
  // A row that failed before migration 14 holds a legacy md5: the same values give the same md5.
  const retry = `(f.primary_key is not null and f.failed_mapping = ${quoteLiteral(mappingHash(sync))}
        and (j.row_hash is not distinct from f.failed_hash
          or coalesce(${isLegacyHashSql('f.failed_hash')} and ${legacyHashSql('j.payload')} = f.failed_hash, false)))`;
  if (options.fullResync) return { join, retry, held: 'cast(null as text)' };
  const now = `cast(${quoteLiteral((options.now ?? new Date()).toISOString())} as timestamptz)`;
  const held = `case when not ${retry} then null
          when f.status = 'blocked' then 'blocked'
          when f.next_retry_at > ${now} then 'waiting'
          ${options.holdRetries ? "else 'budget'" : ''}
        end`;
  return { join, retry, held };
}

/** `(pk, a)`: every address each planned insert or update of `from` writes. */
function writtenAddressesSql(match: Match, from: string): string {
  const value = match.key ? payloadFieldSql(match.dialect, 'c.payload', match.key.field) : 'c.pk';
  const written = `select c.pk, ${addressSql(match.dialect, value)} as a from ${from} c where c.op in ('insert', 'update')`;
  if (!match.byId) return written;
  return `${written}
      union all
      select c.pk, ${addressSql(match.dialect, 'c.destination_id')} from ${from} c where c.op in ('insert', 'update') and c.destination_id is not null`;
}

/**
 * The address a delete of alias `c` is sent to: its destination id where deletes go by it, else its key
 * (an http receiver without external_id may answer one id for many rows, which deletes by key do not use).
 */
function deletedAddressSql(match: Match, alias: string): string {
  return addressSql(match.dialect, match.byId ? `coalesce(${alias}.destination_id, ${alias}.pk)` : `${alias}.pk`);
}

/**
 * The tail shared by both strategies: `joined(pk, change, payload, row_hash, destination_id)` →
 * `ht_plan`, with the operation per mode, the retrying flag, and `seq` in send order (sendable rows
 * first, inserts and updates before deletes, then rows kept only for counting).
 * In mirror mode a delete whose record an insert or update of the run also addresses (its key's type
 * changed, or its match value moved to another key) is not sent but marked `superseded`: sending it,
 * before or after the write, would leave the record deleted while a model row still holds it.
 */
function planTail(sync: SyncConfig, ctes: string, match: Match, options: PlanOptions) {
  const ops = opFor(sync.mode);
  const failed = failedRowsSide(sync, options);
  const opCase = (change: 'added' | 'changed' | 'removed') => (ops[change] === null ? 'null' : quoteLiteral(ops[change]!));
  const resolved =
    ops.removed === null
      ? 'resolved as (select * from classified)'
      : `written as (select distinct a from (${writtenAddressesSql(match, 'classified')}) x where a is not null),
    deleting as (select c.*, case when c.op = 'delete' then ${deletedAddressSql(match, 'c')} end as deleted_a from classified c),
    resolved as (
      select c.pk,
        case when w.a is null then c.change else 'superseded' end as change,
        case when w.a is null then c.op end as op,
        c.payload, c.row_hash, c.destination_id, c.retrying, c.retry, c.held
      from deleting c
      -- On a computed column, not on the expression in the join condition: joined on the expression,
      -- DuckDB took 4.9 s for 8,000 rows and 30 s for 20,000 (quadratic); on the column, a hash join.
      left join written w on w.a = c.deleted_a
    )`;
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
        f.primary_key is not null as retrying,
        ${failed.retry} as retry,
        ${failed.held} as held
      from joined j
      ${failed.join}
      where j.change <> 'unchanged'
    ),
    ${resolved}
    select
      case when op is null or held is not null then null
           else row_number() over (order by case when op is null or held is not null then 1 else 0 end,
             case when retry then 1 else 0 end, case op when 'delete' then 1 else 0 end, pk)
      end as seq,
      pk, change, op, payload, row_hash, destination_id, retrying, held
    from resolved
    order by seq nulls last`;
}

/**
 * Whether rows sharing a match value are checked for: only when the match field is not the primary
 * key's own (a duplicate of that value is a duplicate primary key, already set aside).
 */
function checksMatchDuplicates(match: Match): match is Match & { key: { field: string; external: true } } {
  return match.key?.external === true;
}

/** The snapshot plus keys a killed run may have sent (pending, never acknowledged), as `s`. */
function snapshotSide(sync: SyncConfig, columns: 'full' | 'numbered' | 'diff' | 'ids', quiet: Quiet, catalog = '', legacy = true) {
  const name = quoteLiteral(sync.name);
  const snapshot = currentSnapshotSql(sync.name, catalog, quiet.log, columns === 'diff' || columns === 'numbered');
  // Sent by a run that was killed before the destination's answer was committed: the row may
  // exist there, so it can be "removed", but it was never acknowledged, so it is still "added".
  const pendingOnly = `from ${catalog}sync_pending p left join ${snapshot} x on x.primary_key = p.primary_key
        where p.sync_name = ${name} and x.primary_key is null`;
  const orPending = (stored: string, pending: string) =>
    quiet.pending
      ? stored
      : `${stored}
      union all
      ${pending}`;
  if (columns === 'full') {
    return orPending(
      `select primary_key, row_hash, destination_id, 0 as maybe_sent from ${snapshot} c`,
      `select p.primary_key, null, null, 1 ${pendingOnly}`,
    );
  }
  if (columns === 'numbered') {
    // The hash as a number (`h`); its text only where a legacy md5 may need it.
    return orPending(
      `select primary_key, row_hash_u64 as h, ${legacy ? 'row_hash' : 'cast(null as varchar)'} as row_hash, destination_id, 0 as maybe_sent from ${snapshot} c`,
      `select p.primary_key, null, null, null, 1 ${pendingOnly}`,
    );
  }
  if (columns === 'ids') return orPending(`select destination_id from ${snapshot} c`, `select null ${pendingOnly}`);
  // Only what the full outer join needs, so its hash table stays small: the key and the stored hash as a
  // number (null when it is not one: a legacy md5, or a hash of a write that omitted fields), and for a
  // legacy md5 a 64-bit hash of it, compared with the same hash of the model row's md5 (a false
  // "unchanged" needs a 64-bit collision between a row's old and new md5). `pending`: a key only sent.
  // `legacy`: whether the sync may hold any legacy md5 (without one, the text is not read at all).
  const lh = legacy ? `case when row_hash_u64 is null and ${isLegacyHashSql('row_hash')} then hash(row_hash) end` : 'cast(null as ubigint)';
  const stored = `select primary_key, row_hash_u64 as h, ${lh} as lh, false as pending from ${snapshot} c`;
  return orPending(stored, `select p.primary_key, null, null, true ${pendingOnly}`);
}

/** The general strategy: the model staged as `ht_model(pk, payload)`, then one statement. */
async function planStaged(
  db: Kysely<any>,
  sync: SyncConfig,
  options: PlanOptions,
  match: Match,
  hashes: Hashes,
  quiet: Quiet,
  numbers: Numbers | null,
  settled?: string,
  settledRows?: number,
): Promise<void> {
  // `known` staged (PostgreSQL, one database): group only the keys not in the snapshot `settled`, then
  // check by counts that no two staged rows share a key of it (else group every key). At 10M rows the
  // grouping of every key spilled to disk for 12 s of a 29 s diff.
  const statement = (newKeysOnly: boolean) => stagedPlanSql(sync, options, match, hashes, quiet, numbers, newKeysOnly);
  if (settled) await groupNewKeysFirst(db, statement, () => knownKeysUnique(db, settled, settledRows));
  else await sql.raw(statement(false)).execute(db);
}

/**
 * Runs the plan's `statement` grouping duplicate keys among the keys not in the snapshot only; if `unique`
 * then finds a snapshot key staged twice, runs it again grouping every key.
 */
async function groupNewKeysFirst(db: Kysely<any>, statement: (newKeysOnly: boolean) => string, unique: () => Promise<boolean>) {
  await sql.raw(statement(true)).execute(db);
  if (await unique()) return;
  await sql`drop table if exists ht_plan`.execute(db);
  await sql.raw(statement(false)).execute(db);
}

/**
 * Whether the staged rows whose key is in the snapshot `settled` (`known`) number the snapshot's keys
 * that the plan did not find removed: each such key is then staged once. `rows`: the snapshot's rows
 * when already counted.
 */
async function knownKeysUnique(db: Kysely<any>, settled: string, rows?: number): Promise<boolean> {
  const count = async (text: string) => Number((await sql.raw<{ n: number }>(text).execute(db)).rows[0].n);
  const known = await count('select count(*) as n from ht_model where known');
  const settledRows = rows ?? (await count(`select count(*) as n from ${settled} x`));
  const removed = await count(`select count(*) as n from ht_plan p where p.change in ('removed', 'superseded')
      and exists (select 1 from ${settled} x where x.primary_key = p.pk)`);
  return known === settledRows - removed;
}

/**
 * DuckDB state: the staged plan compares row hashes as numbers (`ht_model.row_hash_u64` where the staging
 * made one, else read from its text). `legacy`: the sync may hold a legacy md5, whose text is then read.
 * PostgreSQL warehouse, 10M rows: the plan statement took 6.8 s comparing texts.
 */
interface Numbers {
  legacy: boolean;
}

/** Whether the sync's current snapshot holds a legacy md5 (before migration 14): a count, 2 ms at 10M rows. */
async function holdsLegacyHashes(db: Kysely<any>, sync: SyncConfig, quiet: Quiet): Promise<boolean> {
  const count = await sql
    .raw<{ n: number }>(`select count(*) as n from ${currentSnapshotSql(sync.name, '', quiet.log, true)} c
      where row_hash_u64 is null and ${isLegacyHashSql('row_hash')}`)
    .execute(db);
  return Number(count.rows[0].n) > 0;
}

/** The staged plan's statement; `newKeysOnly`: group for duplicates only the keys not `known`. */
function stagedPlanSql(
  sync: SyncConfig,
  options: PlanOptions,
  match: Match,
  hashes: Hashes,
  quiet: Quiet,
  numbers: Numbers | null,
  newKeysOnly: boolean,
): string {
  const rowHash = `coalesce(x.row_hash, ${payloadHashSql(match.dialect, 'x.payload')})`;
  const staged = stagedRowsSql(
    match,
    ['pk', 'payload', 'row_hash', ...(numbers ? [STAGED_NUMBER] : [])],
    [
      `${rowHash} as row_hash`,
      '1 as present',
      ...(numbers ? [`coalesce(x.${STAGED_NUMBER}, ${rowHashNumberSql('duckdb', rowHash)}) as h`] : []),
    ],
    'pk is not null',
    newKeysOnly,
  );
  // A number is null where the text is not one (a legacy md5, a hash without dropped fields): such a row
  // is changed, unless a legacy md5 compares equal as before.
  const same = numbers
    ? `coalesce(case when s.h is null and ${isLegacyHashSql('s.row_hash')} then ${legacyHashSql('m.payload')} = s.row_hash
        else ${hashes.sameFunction} and m.h = s.h end, false)`
    : sameRowSql(hashes, 's.row_hash', 'm.row_hash', 'm.payload');
  const ctes = `
    m as (${staged}),
    s as (${snapshotSide(sync, numbers ? 'numbered' : 'full', quiet, '', numbers?.legacy ?? true)}),
    joined as (
      select
        coalesce(m.pk, s.primary_key) as pk,
        case
          when m.present is null then 'removed'
          when m.pk is null then 'invalid_null'
          when m.copies > 1 then 'invalid_duplicate'
          when m.match_copies > 1 then 'invalid_duplicate_field'
          when s.primary_key is null or s.maybe_sent = 1 then 'added'
          when ${options.fullResync} or not ${same} then 'changed'
          else 'unchanged'
        end as change,
        m.payload, m.row_hash, s.destination_id
      from m full outer join s on m.pk = s.primary_key
    )`;
  return planTail(sync, ctes, match, options);
}

/**
 * `ht_model`'s rows as `x` (its `columns`, and the match value as `mv`), selected as `x.pk`, `x.payload`,
 * the `extra` expressions, `copies` (how many staged rows `counted` share the key; only those not `known`
 * when `newKeysOnly`) and `match_copies` (how many share the match value).
 */
function stagedRowsSql(match: Match, columns: string[], extra: string[], counted: string, newKeysOnly: boolean): string {
  // Rows with a null key are invalid already and address nothing: they are not counted as copies.
  const matchCopies = checksMatchDuplicates(match) ? `case when x.mv is null then 1 else count(x.pk) over (partition by x.mv) end` : '1';
  // Staged apart (`mv`) where the payload of an unchanged row was not kept.
  const matchValue = checksMatchDuplicates(match) ? `coalesce(mv, ${payloadFieldSql(match.dialect, 'payload', match.key.field)})` : 'null';
  // Duplicate keys by a grouping, not a window over every row: PostgreSQL sorted 1M staged rows for the
  // window (1.4 s of a 2.3 s diff); the grouping hashes them.
  return `select x.pk, x.payload, ${extra.join(', ')}, coalesce(d.copies, 1) as copies, ${matchCopies} as match_copies
      from (select ${columns.join(', ')}, ${matchValue} as mv from ht_model) x
      left join (select pk as dup_pk, count(*) as copies from ht_model where ${counted} ${newKeysOnly ? 'and known is not true' : ''}
        group by pk having count(*) > 1) d
        on d.dup_pk = x.pk`;
}

/**
 * PostgreSQL, one database, no pending keys: the staging joined model and snapshot fully (`fused`,
 * stage-model.ts), so the diff is `ht_model` alone. Duplicate keys are grouped among the keys not in the
 * snapshot; each snapshot key is then checked to be staged once (its rows number the snapshot's),
 * else every key is grouped.
 */
async function planFused(
  db: Kysely<any>,
  sync: SyncConfig,
  options: PlanOptions,
  match: Match,
  hashes: Hashes,
  snapshotRows: number,
): Promise<void> {
  await groupNewKeysFirst(
    db,
    (newKeysOnly) => fusedPlanSql(sync, options, match, hashes, newKeysOnly),
    async () => Number((await sql<{ n: number }>`select count(*) as n from ht_model where known`.execute(db)).rows[0].n) === snapshotRows,
  );
}

function fusedPlanSql(sync: SyncConfig, options: PlanOptions, match: Match, hashes: Hashes, newKeysOnly: boolean): string {
  const staged = stagedRowsSql(
    match,
    ['pk', 'payload', 'row_hash', 'known', 'present', 'stored_hash', 'destination_id'],
    ['x.row_hash', 'x.known', 'x.present', 'x.stored_hash', 'x.destination_id'],
    'present and pk is not null',
    newKeysOnly,
  );
  // A row staged without its payload had the snapshot's hash (stage-model.ts): unchanged, unless invalid.
  const ctes = `
    m as (${staged}),
    joined as (
      select m.pk,
        case
          when not m.present then 'removed'
          when m.pk is null then 'invalid_null'
          when m.copies > 1 then 'invalid_duplicate'
          when m.match_copies > 1 then 'invalid_duplicate_field'
          when not m.known then 'added'
          when m.payload is null then 'unchanged'
          when ${options.fullResync} or not ${sameRowSql(hashes, 'm.stored_hash', 'm.row_hash', 'm.payload')} then 'changed'
          else 'unchanged'
        end as change,
        m.payload, m.row_hash, m.destination_id
      from m
    )`;
  return planTail(sync, ctes, match, options);
}

/**
 * What `planDirect` makes of each row of its join, stored as one byte in each row of `ht_diff`.
 * `added` keys are not on the snapshot side at all; `addedPending` keys are there only as pending
 * (sent by a killed run, never acknowledged). `sharedMatch…` rows have a match value another model
 * row shares; their key is on the snapshot side (`KnownKey`) or not (`NewKey`).
 */
const DiffCode = {
  removed: 0,
  nullKey: 1,
  added: 2,
  changed: 3,
  unchanged: 4,
  addedPending: 5,
  sharedMatchKnownKey: 6,
  sharedMatchNewKey: 7,
  /** Read-back strategy: the snapshot holds a legacy md5, compared once the row's payload is built. */
  legacy: 8,
} as const;
type DiffCode = (typeof DiffCode)[keyof typeof DiffCode];

/** `(a, b, …)`: a list of codes for an SQL `in`. */
const codes = (...list: DiffCode[]) => `(${list.join(', ')})`;

/**
 * DuckDB warehouse attached to a DuckDB state store: the model is read once, straight into a full
 * outer join with the snapshot, without staging it. Only rows that are not unchanged keep their key
 * and payload in `ht_diff` (a payload is built for them alone, after the join). Unchanged rows: read back
 * (below), the join's rows are grouped as they are written, the unchanged ones into one row with their
 * count `n` (10M rows, 1.5% not unchanged: the diff 1.70 s against 1.81 s writing a one-byte row for
 * each; counting the model in a third read was 1.63 s, but a model that gives other rows on another read
 * could then hide a duplicate key); carried, each leaves a one-byte row. Duplicate keys are found
 * without a pass over every key:
 * - keys not in the snapshot are all kept, so duplicates among them show in `ht_diff`;
 * - keys in the snapshot: each snapshot row is matched at most once by a duplicate-free model, so the
 *   model rows that matched must number exactly the snapshot rows that did not go unmatched. If they
 *   do not, the model has a duplicate among them: return null and the caller plans the staged way,
 *   which finds every duplicate (a model with duplicate keys is an input error, so this is rare).
 * Rows sharing an `external_id` value are found by a window over the model, which only such syncs pay.
 * Two ways to get the changed rows' columns (model-shape.ts decides, from DuckDB's plan of the model):
 * - a plain read of tables (`select … from t where …`): the join carries key and hash only, and the
 *   columns of the keys it did not find unchanged are read back by a second scan, in the same read-only
 *   transaction, their payload and hash computed from that read (10M rows: 1.7 s + 0.3 s, against
 *   3.6 s carrying 10 columns through the join); if that read does not give each of those keys as many
 *   rows as the first (a model using `random()` or `uuid()`), the model is read once after all;
 * - any other model is read once, its columns carried through the join.
 * Returns the number of model rows and how the model was read, or null to fall back.
 */
async function planDirect(
  store: StateStore,
  project: ProjectConfig,
  sync: SyncConfig,
  options: PlanOptions,
  match: Match,
  hashes: Hashes,
  quiet: Quiet,
  side: { rows: number; ids: number },
): Promise<{ rows: number; read: ModelRead } | null> {
  const db = store.db as unknown as Kysely<any>;
  const model = project.models[sync.model];
  const catalog = `${quoteIdent(store.stateCatalog!)}.main.`;
  const fields = Object.entries(sync.mapping);
  const carried = Object.fromEntries(fields.map(([field], i) => [field, `c${i}`]));
  const columns = mappedColumnsSql(sync.mapping);
  const matchColumn = checksMatchDuplicates(match) ? `m.${quoteIdent(sync.mapping[match.key.field])}` : null;
  const matchCopies = matchColumn
    ? `case when ${matchColumn} is null then 1 else count(m.${quoteIdent(sync.primary_key)}) over (partition by ${matchColumn}) end`
    : '1';
  const rawKey = `m.${quoteIdent(sync.primary_key)}`;
  const pk = canonicalKeySql('duckdb', rawKey);
  const modelSide = (types: string[], carry: boolean) => `m as (
      select ${carry ? '*' : 'pk, present, match_copies'}, ${valuesHashSql(sync.mapping, types, 'x')} as h from (
        select ${pk} as pk, true as present, ${matchCopies} as match_copies, ${columns}
        from ${MODEL_VIEW} as m) x)`;
  // The classification both ways share; `legacy` is what the snapshot's legacy md5 rows become.
  const changeCase = (legacy: string) => `case
          when m.present is null then ${DiffCode.removed}
          when m.pk is null then ${DiffCode.nullKey}
          when m.match_copies > 1 then case when s.primary_key is null then ${DiffCode.sharedMatchNewKey} else ${DiffCode.sharedMatchKnownKey} end
          when s.primary_key is null then ${DiffCode.added}
          when s.pending then ${DiffCode.addedPending}
          when ${options.fullResync} then ${DiffCode.changed}
          when s.lh is not null then ${legacy}
          when ${hashes.sameFunction} and m.h = s.h then ${DiffCode.unchanged}
          else ${DiffCode.changed}
        end`;
  // Legacy md5 hashes (before migration 14) are rare and only ever fewer: without one, the snapshot's
  // hash texts are not read at all (10M rows: 0.2 s).
  const legacy = await holdsLegacyHashes(db, sync, quiet);
  const snapshot = `s as (${snapshotSide(sync, 'diff', quiet, catalog, legacy)})`;
  const sendable = codes(DiffCode.nullKey, DiffCode.added, DiffCode.changed, DiffCode.addedPending);
  const carried1 = (types: string[]) => `create temp table ht_diff as with ${modelSide(types, true)},
    ${snapshot},
    j as (
      select
        -- A legacy md5 (before migration 14): the payload is built for these rows only.
        ${changeCase(`case when hash(${legacyHashSql(duckdbPayloadSql(carried, 'm'))}) = s.lh then ${DiffCode.unchanged} else ${DiffCode.changed} end`)} as change,
        coalesce(m.pk, s.primary_key) as pk, m.h,
        ${fields.map((_, i) => `m.c${i}`).join(', ')}
      from m full outer join s on m.pk = s.primary_key
    )
    select change::utinyint as change,
      case when change <> ${DiffCode.unchanged} then pk end as pk,
      case when change in ${sendable} then ${duckdbPayloadSql(carried, 'j')} end as payload,
      case when change in ${sendable} then cast(h as varchar) end as row_hash
    from j`;
  const narrow = (types: string[]) => `create temp table ht_diff as with ${modelSide(types, false)},
    ${snapshot},
    j as (
      select ${changeCase(String(DiffCode.legacy))} as change, coalesce(m.pk, s.primary_key) as pk, s.lh
      from m full outer join s on m.pk = s.primary_key
    )
    select change::utinyint as change,
      case when change <> ${DiffCode.unchanged} then pk end as pk,
      case when change = ${DiffCode.legacy} then lh end as lh,
      count(*) as n
    from j group by all`;
  // Every model row of a key the diff did not find unchanged, and every null-key row, as read again,
  // with its key's code: the join probes the model with the diff's few keys (a 100M-row model, 1.5M
  // keys: 4.8 s). The removed keys join them here: under the plan's window, a UNION ALL of the two
  // ran out of memory at 640MB with 100M rows, one table did not.
  // An integer key's canonical text is its digits, which cast back to its value: the model's rows are
  // first taken by that value, an integer comparison, before their keys' texts are made and joined
  // (10M rows, 150k keys: 450 ms against 295 ms).
  const byIntegerKey = (keyType: string) =>
    DUCKDB_INTEGERS.includes(keyType)
      ? `where ${rawKey} is null or ${rawKey} in (select try_cast(pk as ${keyType}) from ht_diff
          where change not in ${codes(DiffCode.removed, DiffCode.nullKey, DiffCode.unchanged)})`
      : '';
  const readBack = (types: string[], keyType: string) => `create temp table ht_back as
    select x.pk, k.change, k.lh, ${duckdbPayloadSql(carried, 'x')} as payload,
      cast(${valuesHashSql(sync.mapping, types, 'x')} as varchar) as row_hash
    from (select ${pk} as pk, ${columns} from ${MODEL_VIEW} as m ${byIntegerKey(keyType)}) x
    left join (select pk, max(change) as change, max(lh) as lh from ht_diff
      where change not in ${codes(DiffCode.removed, DiffCode.nullKey, DiffCode.unchanged)} group by pk) k on k.pk = x.pk
    where x.pk is null or k.pk is not null
    union all
    select pk, change, null, null, null from ht_diff where change = ${DiffCode.removed}`;
  let reread = false;
  await dropDiffTables(db);
  // The model runs as a view checked by DuckDB's parser, in a read-only transaction (temp tables only).
  await sql.raw('use warehouse').execute(db);
  try {
    await store.defineModelView(model, MODEL_VIEW);
    const types = await describeMapped(db, sync.mapping);
    reread = await modelIsPlainRead(db);
    if (reread) {
      await capDuckDBMemory(store, diffPhase(side.rows));
      const [keyType] = await describeMapped(db, { key: sync.primary_key });
      await store.runReadOnly([narrow(types), readBack(types, keyType)]);
      // A model that answers otherwise when read again (random(), uuid() in it) is read once instead.
      if (!(await sameRowsReadBack(db))) {
        reread = false;
        await dropDiffTables(db);
        await capDuckDBMemory(store, 'plan');
      }
    }
    if (!reread) await store.runReadOnly(carried1(types));
  } catch (error) {
    await capDuckDBMemory(store, 'plan');
    throw error instanceof UserError ? error : modelSqlError(model, error, null);
  } finally {
    await sql.raw(`drop view if exists ${MODEL_VIEW}`).execute(db);
    await sql.raw(`use ${quoteIdent(store.stateCatalog!)}`).execute(db);
  }
  // Read back, the plan's tail also sorts under the diff's cap: its window and order by hold every row to
  // send with its payload. 1M changed Salesforce rows: plan peak 724-754 MiB against 921-1065 MiB under
  // 640MB (the write threads load jsforce meanwhile), the tail 0.8 s slower; 10M rows: 41 s against 38 s.
  // Wide rows can outgrow it (200k rows of 2.5 kB: out of memory at 400MB): the tail is done again
  // under the plan's cap, as a fold is (snapshot-log.ts).
  const read: ModelRead = reread ? 'read back' : 'read once';
  const planned = (rows: number | null) => (rows === null ? null : { rows, read });
  try {
    return planned(await planDirectTail(db, sync, options, match, side, quiet, reread));
  } catch (error) {
    if (!reread || !isOutOfMemory(error)) throw error;
    await capDuckDBMemory(store, 'plan');
    await sql`drop table if exists ht_plan`.execute(db);
    return planned(await planDirectTail(db, sync, options, match, side, quiet, reread));
  } finally {
    await capDuckDBMemory(store, 'plan');
  }
}

/** The rest of `planDirect` once `ht_diff` (and `ht_back`) exist: the duplicate check and `ht_plan`. */
async function planDirectTail(
  db: Kysely<any>,
  sync: SyncConfig,
  options: PlanOptions,
  match: Match,
  side: { rows: number; ids: number },
  quiet: Quiet,
  reread: boolean,
): Promise<number | null> {
  // Read back, a row of ht_diff stands for `n` rows of the join.
  const rows = sql.raw(reread ? 'sum(n)' : 'count(*)');
  const groups = (await sql<{ change: number; n: number }>`select change, ${rows} as n from ht_diff group by change`.execute(db)).rows.map(
    (r) => ({ change: Number(r.change), n: Number(r.n) }),
  );
  const sum = (changes: number[]) => groups.filter((g) => changes.includes(g.change)).reduce((a, g) => a + g.n, 0);
  const removed = sum([DiffCode.removed]);
  const onSnapshotSide = sum([DiffCode.changed, DiffCode.unchanged, DiffCode.addedPending, DiffCode.sharedMatchKnownKey, DiffCode.legacy]);
  if (onSnapshotSide !== side.rows - removed) {
    await dropDiffTables(db);
    return null;
  }
  // Destination ids are read back only for the rows that need them, and only if the sync has any.
  const ids = (key: string) =>
    side.ids === 0
      ? 'null'
      : `(select x.destination_id from ${currentSnapshotSql(sync.name, '', quiet.log)} x where x.primary_key = ${key})`;
  const ctes = reread
    ? readBackCtes(ids)
    : `
    d as (select change, pk, payload, row_hash from ht_diff where change <> ${DiffCode.unchanged}),
    dup as (select pk from d where change in ${codes(DiffCode.added, DiffCode.sharedMatchNewKey)} group by pk having count(*) > 1),
    joined as (
      select
        d.pk,
        case d.change
          when ${DiffCode.removed} then 'removed'
          when ${DiffCode.nullKey} then 'invalid_null'
          when ${DiffCode.changed} then 'changed'
          when ${DiffCode.sharedMatchKnownKey} then 'invalid_duplicate_field'
          else case when dup.pk is not null then 'invalid_duplicate' when d.change = ${DiffCode.sharedMatchNewKey} then 'invalid_duplicate_field' else 'added' end
        end as change,
        d.payload,
        d.row_hash,
        ${ids('d.pk')} as destination_id
      from d
      left join dup on dup.pk = d.pk
    )`;
  await sql.raw(planTail(sync, ctes, match, options)).execute(db);
  await dropDiffTables(db);
  // Every row but a removed one is a model row.
  return sum(Object.values(DiffCode).filter((code) => code !== DiffCode.removed));
}

/** Drops the diff's temp tables (both strategies'). */
async function dropDiffTables(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists ht_diff`.execute(db);
  await sql`drop table if exists ht_back`.execute(db);
}

/**
 * Whether the second read gave, for every key the diff kept (and for the null keys), as many rows as
 * the first: a model whose rows depend on `random()` or `uuid()` does not (DuckDB's EXPLAIN does not
 * show a projection's functions, so this is checked on the rows, not decided from the plan).
 */
async function sameRowsReadBack(db: Kysely<any>): Promise<boolean> {
  const differing = (
    await sql
      .raw<{ n: number }>(`
      select count(*) as n from
        (select pk, sum(n) as n from ht_diff where change not in ${codes(DiffCode.removed, DiffCode.unchanged)} group by pk) d
        full outer join (select pk, count(*) as n from ht_back where change is distinct from ${DiffCode.removed} group by pk) b
        on d.pk is not distinct from b.pk
      where d.n is distinct from b.n`)
      .execute(db)
  ).rows[0].n;
  return Number(differing) === 0;
}

/**
 * `joined` for the read-back strategy, from `ht_back`: the removed keys, and every other row as the
 * second read gave it (as many rows per key as the first, `sameRowsReadBack`), with its key's code
 * from the diff, the largest of its rows' (2 and 7 on one new key: a duplicate anyway).
 */
function readBackCtes(ids: (key: string) => string): string {
  return `
    dup as (select pk from ht_back where pk is not null and change <> ${DiffCode.removed} group by pk having count(*) > 1),
    joined as (
      select
        b.pk,
        case
          when b.change = ${DiffCode.removed} then 'removed'
          when b.pk is null then 'invalid_null'
          when dup.pk is not null then 'invalid_duplicate'
          when b.change in ${codes(DiffCode.sharedMatchKnownKey, DiffCode.sharedMatchNewKey)} then 'invalid_duplicate_field'
          when b.change = ${DiffCode.changed} then 'changed'
          when b.change = ${DiffCode.legacy} then case when hash(${legacyHashSql('b.payload')}) = b.lh then 'unchanged' else 'changed' end
          else 'added'
        end as change,
        b.payload,
        b.row_hash,
        ${ids('b.pk')} as destination_id
      from ht_back b
      left join dup on dup.pk = b.pk
    )`;
}

/** Counts of a plan that sends nothing; also the counts of a sync that could not be planned. */
export function emptyPlanCounts(modelRows = 0, snapshotRows = 0): PlanCounts {
  return {
    model_rows: modelRows,
    snapshot_rows: snapshotRows,
    added: 0,
    changed: 0,
    removed: 0,
    superseded: 0,
    unchanged: 0,
    invalid: 0,
    retrying: 0,
    blocked: 0,
    waiting: 0,
    held_by_budget: 0,
    to_insert: 0,
    to_update: 0,
    to_delete: 0,
    planned: 0,
  };
}

async function countPlan(db: Kysely<any>, modelRows: number, snapshotRows: number): Promise<PlanCounts> {
  const rows = (
    await sql<{ change: Change; op: string | null; retrying: boolean; held: 'blocked' | 'waiting' | 'budget' | null; n: number }>`
      select change, op, retrying, held, count(*) as n from ht_plan group by change, op, retrying, held`.execute(db)
  ).rows;
  const c = emptyPlanCounts(modelRows, snapshotRows);
  for (const r of rows) {
    const n = Number(r.n);
    if (r.change.startsWith('invalid')) c.invalid += n;
    else if (r.change === 'superseded') {
      c.superseded += n;
      c.removed += n;
    } else c[r.change as 'added' | 'changed' | 'removed'] += n;
    if (r.op && r.held) {
      c[r.held === 'budget' ? 'held_by_budget' : r.held] += n;
      continue;
    }
    if (r.op === 'insert') c.to_insert += n;
    if (r.op === 'update') c.to_update += n;
    if (r.op === 'delete') c.to_delete += n;
    if (r.op && (r.retrying === true || String(r.retrying) === 'true')) c.retrying += n;
  }
  c.planned = c.to_insert + c.to_update + c.to_delete;
  c.unchanged = modelRows - c.invalid - c.added - c.changed;
  return c;
}

/**
 * Before the first send of a run: superseded keys leave the snapshot (logged as deleted, though no
 * delete is sent) and the keys whose writes address the same records are marked pending, in one
 * transaction. The records now belong to those keys: mirror deletes them once those keys leave the
 * model, even if this run is killed before their writes are acknowledged. Returns the keys forgotten.
 */
export async function forgetSuperseded(store: StateStore, project: ProjectConfig, sync: SyncConfig, runId: string): Promise<number> {
  const db = store.db as unknown as Kysely<any>;
  const superseded = Number(
    (await sql<{ n: number }>`select count(*) as n from ht_plan where change = 'superseded'`.execute(db)).rows[0].n,
  );
  if (superseded === 0) return 0;
  const match = matchOf(project, sync, store.dialect);
  const name = quoteLiteral(sync.name);
  const run = quoteLiteral(runId);
  const now = new Date();
  const at = `cast(${quoteLiteral(now.toISOString())} as timestamptz)`;
  await transact(store, [
    `insert into sync_pending (sync_name, primary_key, run_id, "at")
      select distinct ${name}, w.pk, ${run}, ${at} from (${writtenAddressesSql(match, 'ht_plan')}) w
      where w.a in (select ${deletedAddressSql(match, 's')} from ht_plan s where s.change = 'superseded')
        and not exists (select 1 from sync_pending x where x.sync_name = ${name} and x.primary_key = w.pk)`,
    ...forgetPlanRowsSql(sync.name, runId, now, `change = 'superseded'`),
  ]);
  return superseded;
}
