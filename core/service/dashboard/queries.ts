/**
 * The dashboard's reads of the state store, every one a page: keyset paging on an order the primary
 * key or a time column gives (never OFFSET into a big table, never a whole table in JS), so a page of
 * 1M failed rows or 10k runs costs what its first page costs (bench/dashboard.ts measures it).
 */
import { sql, type Kysely } from 'kysely';
import { UserError } from '../../../shared/errors.js';
import type { FailedRowStatus, StateTables } from '../../state/schema.js';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

export interface Page<T> {
  rows: T[];
  /** The cursor of the next page (`after=`), or null on the last one. */
  next: string | null;
}

/** Cursors are opaque to clients: base64url of the sort key of the page's last row. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): string[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === arity && values.every((v) => typeof v === 'string')) return values;
  } catch {}
  throw new UserError('after= is not a cursor this API gave', {
    field: 'after',
    hint: 'pass the `next` of the previous page, or leave it out.',
  });
}

export function pageSize(limit: string | undefined): number {
  if (limit === undefined || limit === '') return DEFAULT_PAGE;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw new UserError(`limit=${limit} is not a page size`, { field: 'limit', hint: `give a whole number from 1 to ${MAX_PAGE}.` });
  return n;
}

const text = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const num = (v: unknown): number => Number(v);

/** One more row than asked tells whether there is a next page without counting. */
function paged<T>(rows: T[], limit: number, key: (row: T) => unknown[]): Page<T> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { rows: page, next: more ? encodeCursor(key(page[page.length - 1]).map(text)) : null };
}

export interface FailedRowCounts {
  retrying: number;
  blocked: number;
  timeout_queue: number;
}

/** Rows of the failed-row index by sync and status: one grouped scan. */
export async function failedRowCounts(db: Kysely<StateTables>): Promise<Map<string, FailedRowCounts>> {
  const rows = await db
    .selectFrom('failed_rows')
    .select(['sync_name', 'status', (eb) => eb.fn.countAll().as('n')])
    .groupBy(['sync_name', 'status'])
    .execute();
  const counts = new Map<string, FailedRowCounts>();
  for (const r of rows) {
    const c = counts.get(r.sync_name) ?? { retrying: 0, blocked: 0, timeout_queue: 0 };
    c[r.status] = num(r.n);
    counts.set(r.sync_name, c);
  }
  return counts;
}

export interface RunRow {
  run_id: string;
  sync_name: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  rows_planned: number;
  rows_succeeded: number;
  rows_failed: number;
  rows_invalid: number;
  api_calls: number;
  error: string | null;
  duration_ms: number | null;
}

function runRow(r: Record<string, unknown>): RunRow {
  const started = text(r.started_at);
  const finished = r.finished_at === null ? null : text(r.finished_at);
  return {
    run_id: String(r.run_id),
    sync_name: String(r.sync_name),
    status: String(r.status),
    started_at: started,
    finished_at: finished,
    rows_planned: num(r.rows_planned),
    rows_succeeded: num(r.rows_succeeded),
    rows_failed: num(r.rows_failed),
    rows_invalid: num(r.rows_invalid),
    api_calls: num(r.api_calls),
    error: r.error === null ? null : String(r.error),
    duration_ms: finished === null ? null : Date.parse(finished) - Date.parse(started),
  };
}

const RUN_COLUMNS = [
  'run_id',
  'sync_name',
  'status',
  'started_at',
  'finished_at',
  'rows_planned',
  'rows_succeeded',
  'rows_failed',
  'rows_invalid',
  'api_calls',
  'error',
] as const;

/** A sync's runs, newest first, keyset on (started_at, run_id). */
export async function runsPage(db: Kysely<StateTables>, sync: string, after: string | undefined, limit: number): Promise<Page<RunRow>> {
  const cursor = decodeCursor(after, 2);
  let query = db.selectFrom('sync_runs').select(RUN_COLUMNS).where('sync_name', '=', sync);
  if (cursor) {
    const [at, id] = cursor;
    query = query.where((eb) =>
      eb.or([
        eb('started_at', '<', sql<string>`cast(${at} as timestamptz)`),
        eb.and([eb('started_at', '=', sql<string>`cast(${at} as timestamptz)`), eb('run_id', '<', id)]),
      ]),
    );
  }
  const rows = await query
    .orderBy('started_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(limit + 1)
    .execute();
  return paged(rows.map(runRow), limit, (r) => [r.started_at, r.run_id]);
}

export async function runById(db: Kysely<StateTables>, runId: string): Promise<RunRow | null> {
  const row = await db.selectFrom('sync_runs').select(RUN_COLUMNS).where('run_id', '=', runId).executeTakeFirst();
  return row ? runRow(row) : null;
}

export interface OpCount {
  op: string;
  status: string;
  rows: number;
}

/** A run's changelog by operation and outcome. */
export async function runOps(db: Kysely<StateTables>, runId: string): Promise<OpCount[]> {
  const rows = await db
    .selectFrom('sync_changelog')
    .select(['op', 'status', (eb) => eb.fn.countAll().as('n')])
    .where('run_id', '=', runId)
    .groupBy(['op', 'status'])
    .orderBy('op')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ op: r.op, status: r.status, rows: num(r.n) }));
}

export interface RunError {
  error_code: string;
  rows: number;
  message: string;
}

/** A run's failures by error code, the most rows first, with one message of each. */
export async function runErrors(db: Kysely<StateTables>, runId: string): Promise<RunError[]> {
  const rows = await db
    .selectFrom('sync_changelog')
    .select(['error_code', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.max('error_message').as('message')])
    .where('run_id', '=', runId)
    .where('status', '=', 'failed')
    .groupBy('error_code')
    .orderBy('n', 'desc')
    .orderBy('error_code')
    .limit(MAX_PAGE)
    .execute();
  return rows.map((r) => ({ error_code: r.error_code ?? '', rows: num(r.n), message: r.message ?? '' }));
}

/** The remediation stored with a failed row of this code, when the connector's catalogue has none. */
export async function storedRemediation(db: Kysely<StateTables>, sync: string, code: string): Promise<string | null> {
  const row = await db
    .selectFrom('failed_rows')
    .select('remediation')
    .where('sync_name', '=', sync)
    .where('error_code', '=', code)
    .where('remediation', 'is not', null)
    .limit(1)
    .executeTakeFirst();
  return row?.remediation ?? null;
}

export interface ChangelogRow {
  primary_key: string;
  op: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  at: string;
}

/**
 * A run's changelog in key order. Its rows have no unique key (a key may be sent twice in a run), so
 * this one pages by offset; the run's rows are a slice of the table `run_id` selects.
 */
export async function changelogPage(
  db: Kysely<StateTables>,
  runId: string,
  after: string | undefined,
  limit: number,
): Promise<Page<ChangelogRow>> {
  const cursor = decodeCursor(after, 1);
  const offset = cursor ? Number(cursor[0]) : 0;
  if (!Number.isInteger(offset) || offset < 0) decodeCursor('!', 1);
  const rows = await db
    .selectFrom('sync_changelog')
    .select(['primary_key', 'op', 'status', 'error_code', 'error_message', 'at'])
    .where('run_id', '=', runId)
    .orderBy('primary_key')
    .orderBy('at')
    .orderBy('op')
    .limit(limit + 1)
    .offset(offset)
    .execute();
  const page = paged(
    rows.map((r) => ({ ...r, at: text(r.at) })),
    limit,
    () => [],
  );
  return { rows: page.rows, next: page.next === null ? null : encodeCursor([String(offset + limit)]) };
}

export interface EventRow {
  event_id: string;
  at: string;
  from_state: string | null;
  to_state: string;
  reason: string | null;
  run_id: string | null;
  action: string | null;
}

/** A sync's events, newest first, keyset on the time-ordered event id. */
export async function eventsPage(db: Kysely<StateTables>, sync: string, after: string | undefined, limit: number): Promise<Page<EventRow>> {
  const cursor = decodeCursor(after, 1);
  let query = db
    .selectFrom('events')
    .select(['event_id', 'at', 'from_state', 'to_state', 'reason', 'run_id', 'action'])
    .where('sync_name', '=', sync);
  if (cursor) query = query.where('event_id', '<', cursor[0]);
  const rows = await query
    .orderBy('event_id', 'desc')
    .limit(limit + 1)
    .execute();
  return paged(
    rows.map((r) => ({ ...r, at: text(r.at) })),
    limit,
    (r) => [r.event_id],
  );
}

export interface FailedRowFilter {
  sync?: string;
  status?: FailedRowStatus;
  errorCode?: string;
  /** Keys starting with this. */
  key?: string;
}

export interface FailedRowView {
  sync_name: string;
  primary_key: string;
  status: string;
  error_class: string;
  error_code: string;
  error_message: string;
  attempts: number;
  tries: number | null;
  next_retry_at: string | null;
  last_failed_at: string;
  remediation: string | null;
  destination_id: string | null;
  run_id: string;
}

/** The failed-row index, filtered, in (sync, key) order: its primary key, so each page is a range of it. */
export async function failedRowsPage(
  db: Kysely<StateTables>,
  filter: FailedRowFilter,
  after: string | undefined,
  limit: number,
): Promise<Page<FailedRowView>> {
  const cursor = decodeCursor(after, 2);
  let query = db
    .selectFrom('failed_rows')
    .select([
      'sync_name',
      'primary_key',
      'status',
      'error_class',
      'error_code',
      'error_message',
      'attempts',
      'tries',
      'next_retry_at',
      'last_failed_at',
      'remediation',
      'destination_id',
      'run_id',
    ]);
  if (filter.sync !== undefined) query = query.where('sync_name', '=', filter.sync);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.errorCode !== undefined) query = query.where('error_code', '=', filter.errorCode);
  // starts_with, not LIKE: a key holding % or _ matches itself only (DuckDB and PostgreSQL 11+ both have it).
  if (filter.key !== undefined) query = query.where(sql<boolean>`starts_with(primary_key, ${filter.key})`);
  if (cursor) {
    const [sync, key] = cursor;
    // Within one sync a plain range on the key, which DuckDB's zone maps and PostgreSQL's primary key index prune.
    query =
      filter.sync === sync
        ? query.where('primary_key', '>', key)
        : query.where((eb) => eb.or([eb('sync_name', '>', sync), eb.and([eb('sync_name', '=', sync), eb('primary_key', '>', key)])]));
  }
  const rows = await query
    .orderBy('sync_name')
    .orderBy('primary_key')
    .limit(limit + 1)
    .execute();
  return paged(
    rows.map((r) => ({
      ...r,
      attempts: num(r.attempts),
      tries: r.tries === null ? null : num(r.tries),
      next_retry_at: r.next_retry_at === null ? null : text(r.next_retry_at),
      last_failed_at: text(r.last_failed_at),
    })),
    limit,
    (r) => [r.sync_name, r.primary_key],
  );
}

/** The error codes in the failed-row index (of a sync), for the filter's choices; capped. */
export async function failedRowCodes(db: Kysely<StateTables>, sync?: string): Promise<string[]> {
  let query = db.selectFrom('failed_rows').select('error_code').distinct();
  if (sync !== undefined) query = query.where('sync_name', '=', sync);
  const rows = await query.orderBy('error_code').limit(MAX_PAGE).execute();
  return rows.map((r) => r.error_code);
}
