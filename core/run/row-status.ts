/**
 * Kentico's "replicated / not replicated" filter: each model row of a sync with its state. It needs the
 * model, so the sync is planned (as `plan` does: nothing sent, temp tables only) and the plan joined
 * with the snapshot and the failed-row index:
 * - `synced`: the destination acknowledged the row's current values;
 * - `pending`: new or changed since, not failing (the next run sends it);
 * - `retrying`, `blocked`, `timeout_queue`: in the failed-row index with that status;
 * - `invalid`: a null or duplicate primary key, or a duplicate match value (never sent);
 * - `not_synced`: every row but the synced ones.
 * Rows that left the model are not model rows and are not listed.
 */
import { existsSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { ProjectConfig } from '../config/types.js';
import { UserError } from '../../shared/errors.js';
import { quoteLiteral } from '../db/sql-text.js';
import { modelSqlError } from '../db/warehouse.js';
import { buildPlan } from '../plan/planner.js';
import { currentSnapshotSql } from '../state/snapshot-log.js';
import { openStateStore } from '../state/state-store.js';
import { selectSyncs } from './select-syncs.js';
import { lockSync } from './sync-lock.js';

export const ROW_STATUSES = ['synced', 'pending', 'retrying', 'blocked', 'timeout_queue', 'invalid', 'not_synced'] as const;
export type RowStatusFilter = (typeof ROW_STATUSES)[number];

export interface RowState {
  primary_key: string | null;
  status: Exclude<RowStatusFilter, 'not_synced'>;
  error_code: string | null;
  error_message: string | null;
  attempts: number | null;
  next_retry_at: string | null;
}

export interface RowsOptions {
  /** Rows listed at most (default 1000), in key order. */
  limit?: number;
  /** The instant the plan is made at. */
  now?: Date;
}

const INVALID_REASON = `case p.change when 'invalid_null' then 'null primary key' when 'invalid_duplicate' then 'duplicate primary key'
  else 'duplicate match value' end`;

export async function rowsByStatus(
  project: ProjectConfig,
  syncName: string,
  status: RowStatusFilter,
  options: RowsOptions = {},
): Promise<RowState[]> {
  const [sync] = selectSyncs(project, [syncName], false);
  if (!ROW_STATUSES.includes(status)) {
    throw new UserError(`"${status}" is not a row status.`, { field: 'rows --status', hint: `use one of ${ROW_STATUSES.join(', ')}.` });
  }
  // No state file yet: nothing was synced; plan in memory so that no file is created (as `plan` does).
  const absent = project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path);
  const planned = absent ? { ...project, state: { type: 'duckdb' as const, path: ':memory:' } } : project;
  const store = await openStateStore(planned, { attachWarehouse: true, readOnly: false });
  try {
    const unlock = await lockSync(store, sync.name, sync.file);
    try {
      try {
        await buildPlan(store, project, sync, { fullResync: false, now: options.now });
      } catch (error) {
        throw error instanceof UserError ? error : modelSqlError(project.models[sync.model], error, null);
      }
      const name = quoteLiteral(sync.name);
      const wanted = status === 'not_synced' ? `r.status <> 'synced'` : `r.status = ${quoteLiteral(status)}`;
      const limit = Math.max(1, Math.floor(options.limit ?? 1000));
      const rows = await sql
        .raw<RowState>(`with r as (
          select p.pk as primary_key,
            case when p.change like 'invalid%' then 'invalid' when f.status is not null then f.status else 'pending' end as status,
            case when p.change like 'invalid%' then 'INVALID_KEY' else f.error_code end as error_code,
            case when p.change like 'invalid%' then ${INVALID_REASON} else f.error_message end as error_message,
            f.attempts, f.next_retry_at
          from ht_plan p
          left join (select * from failed_rows where sync_name = ${name}) f on f.primary_key = p.pk
          where p.change not in ('removed', 'superseded')
          union all
          select s.primary_key, 'synced', null, null, null, null
          from ${currentSnapshotSql(sync.name)} s
          where s.primary_key not in (select pk from ht_plan where pk is not null)
        )
        select * from r where ${wanted} order by primary_key nulls first limit ${limit}`)
        .execute(store.db as unknown as Kysely<any>);
      return rows.rows.map((r) => ({
        ...r,
        attempts: r.attempts === null ? null : Number(r.attempts),
        next_retry_at: r.next_retry_at === null ? null : String(r.next_retry_at),
      }));
    } finally {
      await unlock();
    }
  } finally {
    await store.close();
  }
}
