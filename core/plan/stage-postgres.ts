/**
 * A PostgreSQL warehouse staged into DuckDB state as `ht_model(pk, payload, row_hash, mv)`. A plain read of
 * tables (model-shape.ts) hashed by its values (row-hash.ts) leaves PostgreSQL in bulk, as key and hash
 * only: by COPY as CSV into private temp files that DuckDB reads (1M rows: 0.9 s out, against 2.8 s for
 * key and payload through a cursor and Node's Appender). The payloads of the rows that may be sent are
 * then read back by key, in a second read. Both reads run in parts at once, from one snapshot
 * (`PostgresWarehouse.readInParts`). If the second read does not give each of those keys exactly one
 * row (the model answered otherwise: `random()`, rows deleted meanwhile), the caller reads the model once, every
 * row with its payload, as for any other model.
 * PostgreSQL's CSV quotes every value (`FORCE_QUOTE *`) and writes NULL unquoted and empty; DuckDB reads
 * it back by the same rules, so a key with commas, quotes or line breaks arrives as it left (unquoted,
 * DuckDB drops a byte-order mark, U+FEFF, that begins a value).
 */
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { ModelConfig, SyncConfig } from '../config/types.js';
import type { StateStore } from '../state/state-store.js';
import { MODEL_VIEW, type PartReader, type PostgresWarehouse } from '../db/warehouse.js';
import { quoteIdent, quoteLiteral } from '../db/sql-text.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { mappedColumnsSql, payloadFieldSql, postgresPayloadSql } from './payload-sql.js';
import { postgresValuesHashSql } from './row-hash.js';
import type { UnchangedRows } from './stage-model.js';
import { processAlive } from '../../shared/process-alive.js';
import { rowHashNumberSql } from '../state/row-hash-number.js';

/** SQL: a staged row of hash `hash` is unchanged since the snapshot's `stored` (never on a full resync). */
export function sameHashSql(unchanged: UnchangedRows, stored: string, hash: string): string {
  return unchanged.sameFunction && !unchanged.fullResync ? `${stored} = ${hash}` : 'false';
}

/** Rows per fetch of the second read, as the streamed path. */
const READ_BACK_CHUNK = 2000;

/** The mapped columns' types in mapping order, from the warehouse's answer (for the values hash). */
export function mappedTypes(mapping: Record<string, string>, types: Map<string, string>): string[] {
  return Object.values(mapping).map((column) => types.get(column) ?? 'unknown');
}

/**
 * The SQL of a model row, over the model view: `rows` gives the key and the mapped columns once per row
 * (fenced with `offset 0`, so PostgreSQL does not compute them again for each reference), the others
 * are expressions over its alias `r`.
 */
export interface PostgresRowSql {
  rows: string;
  /** `rows` of part `part` of `parts`: the rows whose key's text hashes to it (null keys: part 0). */
  partRows(part: number, parts: number): string;
  payload(alias: string): string;
  hash(alias: string): string;
  matchValue(alias: string): string;
}

export function postgresRowSql(sync: SyncConfig, pk: string, types: string[], matchField: string | null): PostgresRowSql {
  const columns = Object.keys(sync.mapping).length === 0 ? '' : `, ${mappedColumnsSql(sync.mapping)}`;
  const carried = Object.fromEntries(Object.keys(sync.mapping).map((field, i) => [field, `c${i}`]));
  const rows = (where: string) => `select ${pk} as pk${columns} from ${MODEL_VIEW} as m ${where} offset 0`;
  // Split on the key column's own text, cheaper than the canonical key (10M rows: 1 s against 3 s).
  const key = `m.${quoteIdent(sync.primary_key)}`;
  return {
    rows: rows(''),
    partRows: (part, parts) => rows(`where coalesce((hashtext(${key}::text) & 2147483647) % ${parts}, 0) = ${part}`),
    payload: (alias: string) => postgresPayloadSql(carried, alias),
    hash: (alias: string) => postgresValuesHashSql(sync.mapping, types, alias),
    // The text `payloadFieldSql` would read from the payload, built from that one field.
    matchValue: (alias: string) =>
      matchField === null
        ? 'null'
        : payloadFieldSql('postgres', postgresPayloadSql({ [matchField]: carried[matchField] }, alias), matchField),
  };
}

/**
 * Stages a plain read of the model, hashed by values (`row`: its SQL, from `postgresRowSql`), into DuckDB
 * state's `ht_model` (empty, made by the caller): key and hash by COPY, then the payloads of the keys that
 * may be sent, read back by key. Returns false, with nothing staged, when DuckDB's CSV reader refuses a
 * line or the second read does not give each key one row. The caller then streams every row with its
 * payload through a cursor, as for any other model: at 10M rows that took 57.8 s against 84.2 s by COPY
 * (2.4 GB of CSV written, then read under the plan's cap; at 1M rows COPY was 1 s faster).
 */
export async function copyPostgresIntoDuckDB(
  store: StateStore,
  warehouse: PostgresWarehouse,
  model: ModelConfig,
  row: PostgresRowSql,
  unchanged: UnchangedRows,
): Promise<boolean> {
  const parts = await warehouse.readInParts(model, readParts());
  try {
    return await copyAndReadBack(store, parts ?? onePart(warehouse, model), row, unchanged);
  } finally {
    await parts?.close();
  }
}

/**
 * Parts to read a PostgreSQL model in, each on its own session (`readInParts`): one per core here, up to
 * 4, since every part's rows land on this machine. 10M rows hashed: 20 s in one part, 16–18 s in two
 * on 2 cores shared with PostgreSQL. HIGHTOUCH_LIKE_PG_READ_PARTS overrides (1: one session).
 */
function readParts(): number {
  const set = Number(process.env.HIGHTOUCH_LIKE_PG_READ_PARTS);
  return Number.isInteger(set) && set >= 1 ? Math.min(set, 16) : Math.max(1, Math.min(4, availableParallelism()));
}

/** The warehouse's own session as the one part, when no more can be had. */
function onePart(warehouse: PostgresWarehouse, model: ModelConfig): PartReader {
  return {
    parts: 1,
    copy: (_part, query, path) => warehouse.copyCsv(model, query, path),
    stream: (_part, query, chunkSize, params) => warehouse.streamQuery(model, query, chunkSize, params),
    close: async () => {},
  };
}

async function copyAndReadBack(store: StateStore, parts: PartReader, row: PostgresRowSql, unchanged: UnchangedRows): Promise<boolean> {
  const db = store.db as unknown as Kysely<any>;
  const rowsOf = (part: number) => (parts.parts === 1 ? row.rows : row.partRows(part, parts.parts));
  const narrow = (part: number) => `select r.pk, ${row.hash('r')} as h, ${row.matchValue('r')} as mv from (${rowsOf(part)}) r`;
  // Each hash is read as a number once, as it is staged, for the joins below (row-hash-number.ts).
  if (!(await copyIn(db, parts, narrow, ['pk', 'row_hash', 'mv'], { row_hash_u64: rowHashNumberSql('duckdb', 'row_hash') }))) return false;

  // The keys that may be sent: not unchanged, and not duplicated (an invalid key needs no payload). The
  // hashes compare as numbers (`unchanged.snapshot` is numbered): 10M rows, 3.7 s as texts.
  const keys = (
    await sql
      .raw<{ pk: string }>(
        `select m.pk from ht_model m left join ${unchanged.snapshot} s on s.primary_key = m.pk
        where m.pk is not null and not coalesce(${sameHashSql(unchanged, 's.row_hash_u64', 'm.row_hash_u64')}, false)
        group by m.pk having count(*) = 1`,
      )
      .execute(db)
  ).rows.map((r) => r.pk);
  if (keys.length === 0) return true;
  await sql`drop table if exists ht_back`.execute(db);
  await sql`create temp table ht_back (pk text, payload text, row_hash text)`.execute(db);
  try {
    // Each part reads back its own rows of the keys; one at a time into DuckDB's one connection.
    let appended = Promise.resolve();
    const readPart = async (part: number) => {
      const query = `select r.pk, ${row.payload('r')} as payload, ${row.hash('r')} as h from (${rowsOf(part)}) r where r.pk = any($1::text[])`;
      for await (const rows of parts.stream(part, query, READ_BACK_CHUNK, [keys])) {
        const values = rows.map((r) => [r.pk as string, r.payload as string, r.h as string]);
        appended = appended.then(() => store.appendTemp('ht_back', ['pk', 'payload', 'row_hash'], values));
        await appended;
      }
    };
    await allParts(parts.parts, readPart);
    const back = (await sql<{ n: number; d: number }>`select count(*) as n, count(distinct pk) as d from ht_back`.execute(db)).rows[0];
    if (Number(back.n) !== keys.length || Number(back.d) !== keys.length) {
      await sql`delete from ht_model`.execute(db);
      return false;
    }
    // The payload and its hash both come from the second read, so a sent row's stored hash is its payload's.
    await sql
      .raw(
        `update ht_model set payload = b.payload, row_hash = b.row_hash, row_hash_u64 = ${rowHashNumberSql('duckdb', 'b.row_hash')}
        from ht_back b where ht_model.pk = b.pk`,
      )
      .execute(db);
  } finally {
    await sql`drop table if exists ht_back`.execute(db);
  }
  return true;
}

/** Runs `each` for every part at once; once all have settled, fails with the first failure. */
async function allParts(parts: number, each: (part: number) => Promise<void>): Promise<void> {
  const settled = await Promise.allSettled(Array.from({ length: parts }, (_, part) => each(part)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A plan's temp directory is `hightouch-like-<pid>-<random>`: the pid tells a live plan's from an orphan. */
const TEMP_PREFIX = 'hightouch-like-';
const TEMP_NAME = new RegExp(`^${TEMP_PREFIX}(\\d+)-.`);

/**
 * Removes the temp directories of plans whose process is gone: SIGINT and SIGTERM clean up, SIGKILL
 * cannot, and each orphan holds a model's keys and hashes (about 30 MB per 1M rows). Only directories
 * of this user, named with a pid that no process has; a pid reused since keeps its orphan until that
 * process ends. Best effort: a sweep that fails must not fail the plan.
 */
async function sweepOrphans(): Promise<void> {
  const root = tmpdir();
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(TEMP_NAME.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    const path = join(root, name);
    try {
      const info = await lstat(path);
      if (!info.isDirectory() || info.uid !== process.getuid?.()) continue;
      await rm(path, { recursive: true, force: true });
    } catch {
      // Gone already (another plan swept it), or not ours to remove.
    }
  }
}

/**
 * COPYs each part's `query` rows out of PostgreSQL into `ht_model`'s `columns` through private temp
 * files, one per part, and fills the `derived` columns from them (column → SQL over `columns`); false
 * when DuckDB's CSV reader refuses them (a line over its default 2 MB: a key that long).
 */
async function copyIn(
  db: Kysely<any>,
  parts: PartReader,
  query: (part: number) => string,
  columns: string[],
  derived: Record<string, string>,
): Promise<boolean> {
  let dir: string;
  await sweepOrphans();
  try {
    dir = await mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  } catch (error) {
    throw new UserError(`cannot make a temp directory for the model's rows: ${oneLine((error as Error).message)}`, {
      hint: 'point TMPDIR at a writable directory.',
    });
  }
  try {
    const files = Array.from({ length: parts.parts }, (_, part) => join(dir, `model-${part}.csv`));
    await allParts(parts.parts, (part) => parts.copy(part, query(part), files[part]));
    const types = columns.map((c) => `${quoteLiteral(c)}: 'VARCHAR'`).join(', ');
    const [into, values] = [
      [...columns, ...Object.keys(derived)],
      [...columns, ...Object.values(derived)],
    ];
    // The staged rows' order means nothing to the plan; keeping it made DuckDB buffer the file's rows.
    await sql`set preserve_insertion_order = false`.execute(db);
    try {
      await sql
        .raw(
          `insert into ht_model (${into.join(', ')}) select ${values.join(', ')} from read_csv([${files.map(quoteLiteral).join(', ')}],
            columns = {${types}}, header = false, auto_detect = false,
            delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`,
        )
        .execute(db);
    } catch {
      await sql`delete from ht_model`.execute(db);
      return false;
    } finally {
      await sql`reset preserve_insertion_order`.execute(db);
    }
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
