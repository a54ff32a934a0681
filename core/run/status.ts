/** `status`: per sync, its last run, how many rows the destination holds, how many are failing. */
import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/types.js';
import { sql } from 'kysely';
import { openStateStore } from '../state/state-store.js';
import { currentSnapshotSql } from '../state/snapshot-log.js';
import { scheduleColumns } from '../config/schedule-columns.js';

export interface SyncStatus {
  sync: string;
  model: string;
  destination: string;
  mode: string;
  schedule: string;
  next_run_at: string | null;
  last_run_id: string | null;
  last_status: string | null;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_error: string | null;
  synced_rows: number;
  failed_rows: number;
}

export async function syncStatuses(project: ProjectConfig): Promise<SyncStatus[]> {
  const rows: SyncStatus[] = Object.values(project.syncs).map((s) => ({
    sync: s.name,
    model: s.model,
    destination: s.destination,
    mode: s.mode,
    ...scheduleColumns(s.schedule, new Date(), project.secrets),
    last_run_id: null,
    last_status: null,
    last_started_at: null,
    last_finished_at: null,
    last_error: null,
    synced_rows: 0,
    failed_rows: 0,
  }));
  if (project.state.type === 'duckdb' && !existsSync(project.state.path)) return rows;
  const store = await openStateStore(project, { readOnly: true });
  try {
    for (const row of rows) {
      const last = await store.db
        .selectFrom('sync_runs')
        .selectAll()
        .where('sync_name', '=', row.sync)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last) {
        row.last_run_id = last.run_id;
        row.last_status = last.status;
        row.last_started_at = last.started_at;
        row.last_finished_at = last.finished_at;
        row.last_error = last.error;
      }
      const synced = await sql.raw<{ n: number }>(`select count(*) as n from ${currentSnapshotSql(row.sync)} c`).execute(store.db);
      row.synced_rows = Number(synced.rows[0].n);
      const failed = await store.db
        .selectFrom('failed_rows')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('sync_name', '=', row.sync)
        .executeTakeFirstOrThrow();
      row.failed_rows = Number(failed.n);
    }
  } finally {
    await store.close();
  }
  return rows;
}
