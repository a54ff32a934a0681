/**
 * The extract tables (migrations 11 and 12): `extract_runs`, `extract_events` and `extract_cursors`.
 * The cursor is written only after the landed rows it covers are committed (core/extract/run-extract.ts),
 * so a process killed at any instant re-reads from a cursor whose rows are all landed.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { storableText } from './sanitize-text.js';
import type { StateTables } from './schema.js';

export interface ExtractCursor {
  cursorAt: Date | null;
  deletesAt: Date | null;
  droppedFields: string[];
  pausedReason: string | null;
}

const instant = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string));

export async function readExtractCursor(db: Kysely<StateTables>, extract: string): Promise<ExtractCursor> {
  const row = await db.selectFrom('extract_cursors').selectAll().where('extract_name', '=', extract).executeTakeFirst();
  return {
    cursorAt: instant(row?.cursor_at),
    deletesAt: instant(row?.deletes_at),
    droppedFields: row?.dropped_fields ? row.dropped_fields.split(',') : [],
    pausedReason: row?.paused_reason ?? null,
  };
}

export interface CursorChange {
  cursorAt?: Date | null;
  deletesAt?: Date | null;
  droppedFields?: string[];
  paused?: { reason: string } | null;
}

export async function saveExtractCursor(db: Kysely<StateTables>, extract: string, change: CursorChange, now: Date): Promise<void> {
  const values: Record<string, string | null> = { updated_at: now.toISOString() };
  if (change.cursorAt !== undefined) values.cursor_at = change.cursorAt?.toISOString() ?? null;
  if (change.deletesAt !== undefined) values.deletes_at = change.deletesAt?.toISOString() ?? null;
  if (change.droppedFields !== undefined) values.dropped_fields = change.droppedFields.length > 0 ? change.droppedFields.join(',') : null;
  if (change.paused !== undefined) {
    values.paused_reason = change.paused ? storableText(change.paused.reason) : null;
    values.paused_at = change.paused ? now.toISOString() : null;
  }
  const exists = await db.selectFrom('extract_cursors').select('extract_name').where('extract_name', '=', extract).executeTakeFirst();
  if (exists) await db.updateTable('extract_cursors').set(values).where('extract_name', '=', extract).execute();
  else
    await db
      .insertInto('extract_cursors')
      .values({ extract_name: extract, ...values, updated_at: now.toISOString() })
      .execute();
}

export function newExtractRunId(now: Date): string {
  return `${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function openExtractRun(
  db: Kysely<StateTables>,
  runId: string,
  extract: string,
  fullLoad: boolean,
  cursorFrom: Date | null,
  now: Date,
) {
  await db
    .insertInto('extract_runs')
    .values({
      run_id: runId,
      extract_name: extract,
      status: 'running',
      started_at: now.toISOString(),
      finished_at: null,
      full_load: fullLoad,
      api: null,
      rows_read: 0,
      rows_deleted: 0,
      api_calls: 0,
      cursor_from: cursorFrom?.toISOString() ?? null,
      cursor_to: null,
      error_code: null,
      error_class: null,
      error: null,
    })
    .execute();
}

export interface ExtractRunResult {
  status: 'succeeded' | 'failed' | 'paused' | 'deferred';
  api: string | null;
  rowsRead: number;
  rowsDeleted: number;
  apiCalls: number;
  cursorTo: Date | null;
  errorCode: string | null;
  errorClass: string | null;
  error: string | null;
}

export async function closeExtractRun(db: Kysely<StateTables>, runId: string, result: ExtractRunResult, now: Date): Promise<void> {
  await db
    .updateTable('extract_runs')
    .set({
      status: result.status,
      finished_at: now.toISOString(),
      api: result.api,
      rows_read: result.rowsRead,
      rows_deleted: result.rowsDeleted,
      api_calls: result.apiCalls,
      cursor_to: result.cursorTo?.toISOString() ?? null,
      error_code: result.errorCode,
      error_class: result.errorClass,
      error: result.error === null ? null : storableText(result.error),
    })
    .where('run_id', '=', runId)
    .execute();
}

/** A run left `running` by a killed process. */
export async function closeInterruptedExtractRuns(db: Kysely<StateTables>, extract: string, now: Date): Promise<void> {
  await db
    .updateTable('extract_runs')
    .set({ status: 'failed', finished_at: now.toISOString(), error: 'interrupted: the process stopped before the run finished' })
    .where('extract_name', '=', extract)
    .where('status', '=', 'running')
    .execute();
}

export async function recordExtractEvent(
  db: Kysely<StateTables>,
  extract: string,
  runId: string | null,
  kind: string,
  reason: string,
  now: Date,
): Promise<void> {
  await db
    .insertInto('extract_events')
    .values({
      event_id: newExtractRunId(now),
      at: now.toISOString(),
      extract_name: extract,
      run_id: runId,
      kind,
      reason: storableText(reason),
    })
    .execute();
}
