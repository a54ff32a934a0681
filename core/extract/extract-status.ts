/** Each extract's state for `status`, `GET /api/extracts` and the scheduler: last run, cursor, health. */
import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/types.js';
import { scheduleColumns } from '../config/schedule-columns.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { readExtractCursor, saveExtractCursor } from '../state/extract-state.js';

export interface ExtractStatus {
  extract: string;
  source: string;
  object: string;
  table: string;
  schedule: string;
  next_run_at: string | null;
  last_run_id: string | null;
  last_status: string | null;
  last_finished_at: string | null;
  /** Records the last run read (changed, or all on a full load) and deleted from the table. */
  rows_read: number;
  rows_deleted: number;
  api_calls: number;
  /** The committed cursor: records stamped from here (less the overlap) are read next. */
  cursor: string | null;
  dropped_fields: string[];
  /** healthy, failing (the last run failed), credentials_required (the source refused them), paused (healing gave up). */
  health: 'healthy' | 'failing' | 'credentials_required' | 'paused';
  last_error: string | null;
}

async function migrated(store: StateStore): Promise<boolean> {
  const row = await store.db.selectFrom('hightouch_like_migrations').select('version').where('version', '=', 12).executeTakeFirst();
  return row !== undefined;
}

export async function extractStatuses(project: ProjectConfig, now = new Date()): Promise<ExtractStatus[]> {
  const rows: ExtractStatus[] = Object.values(project.extracts).map((e) => ({
    extract: e.name,
    source: e.source,
    object: e.object,
    table: e.table,
    ...scheduleColumns(e.schedule, now, project.secrets),
    last_run_id: null,
    last_status: null,
    last_finished_at: null,
    rows_read: 0,
    rows_deleted: 0,
    api_calls: 0,
    cursor: null,
    dropped_fields: [],
    health: 'healthy',
    last_error: null,
  }));
  if (rows.length === 0) return rows;
  if (project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path)) return rows;
  const store = await openStateStore(project, { readOnly: true });
  try {
    if (!(await migrated(store))) return rows;
    for (const row of rows) {
      const cursor = await readExtractCursor(store.db, row.extract);
      row.cursor = cursor.cursorAt?.toISOString() ?? null;
      row.dropped_fields = cursor.droppedFields;
      const last = await store.db
        .selectFrom('extract_runs')
        .selectAll()
        .where('extract_name', '=', row.extract)
        .where('status', '!=', 'running')
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last) {
        row.last_run_id = last.run_id;
        row.last_status = last.status;
        row.last_finished_at = last.finished_at === null ? null : new Date(last.finished_at).toISOString();
        row.rows_read = Number(last.rows_read);
        row.rows_deleted = Number(last.rows_deleted);
        row.api_calls = Number(last.api_calls);
        row.last_error = last.error;
        if (last.status === 'failed') row.health = last.error_class === 'auth' ? 'credentials_required' : 'failing';
      }
      if (cursor.pausedReason !== null) {
        row.health = 'paused';
        row.last_error = cursor.pausedReason;
      }
    }
  } finally {
    await store.close();
  }
  return rows;
}

/** Why an extract must not run now (paused), or null. */
export async function extractPausedMessage(store: StateStore, name: string): Promise<string | null> {
  const cursor = await readExtractCursor(store.db, name);
  return cursor.pausedReason === null ? null : `extract ${name} is paused: ${cursor.pausedReason}`;
}

/** Lets a paused extract run again; false when it was not paused. */
export async function resumeExtract(project: ProjectConfig, name: string, now: Date, open?: StateStore): Promise<boolean> {
  const store = open ?? (await openStateStore(project, { readOnly: false }));
  try {
    const cursor = await readExtractCursor(store.db, name);
    if (cursor.pausedReason === null) return false;
    await saveExtractCursor(store.db, name, { paused: null }, now);
    return true;
  } finally {
    if (!open) await store.close();
  }
}

/** The start of each extract's last run, for slots missed while no service ran. */
export async function extractLastStarts(store: StateStore, names: string[]): Promise<Record<string, Date>> {
  const starts: Record<string, Date> = {};
  if (!(await migrated(store))) return starts;
  for (const name of names) {
    const last = await store.db
      .selectFrom('extract_runs')
      .select('started_at')
      .where('extract_name', '=', name)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last) starts[name] = new Date(last.started_at);
  }
  return starts;
}
