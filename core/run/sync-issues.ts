/**
 * The sync-issues log (LinkPoint's Issues tab, Kentico's event log): the failed-row index grouped by
 * sync and error code, with what a person needs to act on each group: its class, how many rows and in
 * which states, when it was first and last seen, a few keys to look at, the connector's remediation
 * sentence, and the runs that failed rows with it (from `sync_changelog`, so within `retention`).
 */
import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import type { ProjectConfig } from '../config/types.js';
import { openStateStore } from '../state/state-store.js';
import { selectSyncs } from './select-syncs.js';

/** Keys shown per issue: enough to open a few records, few enough for a terminal line. */
const SAMPLE_KEYS = 5;
/** Runs listed per issue, newest first; `run_count` has them all. */
const RUNS_LISTED = 10;

export interface SyncIssue {
  sync: string;
  error_code: string;
  error_class: string;
  rows: number;
  retrying: number;
  blocked: number;
  timeout_queue: number;
  first_seen: string;
  last_seen: string;
  sample_keys: string[];
  /** A destination record id of a sample row, when one is known (to open the record behind the issue). */
  sample_destination_ids: string[];
  remediation: string | null;
  last_message: string;
  runs: string[];
  run_count: number;
}

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

/** Issues of the named syncs (all when none is named), the most rows first. */
export async function syncIssues(project: ProjectConfig, names: string[] = []): Promise<SyncIssue[]> {
  const syncs = names.length ? selectSyncs(project, names, false) : Object.values(project.syncs);
  if (project.state.type === 'duckdb' && project.state.path !== ':memory:' && !existsSync(project.state.path)) return [];
  const store = await openStateStore(project, { readOnly: true });
  const issues: SyncIssue[] = [];
  try {
    for (const sync of syncs) {
      const groups = await store.db
        .selectFrom('failed_rows')
        .where('sync_name', '=', sync.name)
        .groupBy('error_code')
        .select((eb) => [
          'error_code',
          eb.fn.max('error_class').as('error_class'),
          eb.fn.countAll().as('rows'),
          sql<number>`sum(case when status = 'retrying' then 1 else 0 end)`.as('retrying'),
          sql<number>`sum(case when status = 'blocked' then 1 else 0 end)`.as('blocked'),
          sql<number>`sum(case when status = 'timeout_queue' then 1 else 0 end)`.as('timeout_queue'),
          eb.fn.min('first_failed_at').as('first_seen'),
          eb.fn.max('last_failed_at').as('last_seen'),
          eb.fn.max('remediation').as('remediation'),
        ])
        .orderBy('rows', 'desc')
        .orderBy('error_code')
        .execute();
      for (const group of groups) {
        const sample = await store.db
          .selectFrom('failed_rows')
          .where('sync_name', '=', sync.name)
          .where('error_code', '=', group.error_code)
          .select(['primary_key', 'destination_id', 'error_message', 'last_failed_at'])
          .orderBy('last_failed_at', 'desc')
          .orderBy('primary_key')
          .limit(SAMPLE_KEYS)
          .execute();
        const runs = await store.db
          .selectFrom('sync_changelog')
          .where('sync_name', '=', sync.name)
          .where('error_code', '=', group.error_code)
          .where('status', '=', 'failed')
          .select('run_id')
          .distinct()
          .orderBy('run_id', 'desc')
          .execute();
        issues.push({
          sync: sync.name,
          error_code: group.error_code,
          error_class: group.error_class,
          rows: Number(group.rows),
          retrying: Number(group.retrying),
          blocked: Number(group.blocked),
          timeout_queue: Number(group.timeout_queue),
          first_seen: iso(group.first_seen),
          last_seen: iso(group.last_seen),
          sample_keys: sample.map((r) => r.primary_key),
          sample_destination_ids: sample.flatMap((r) => (r.destination_id === null ? [] : [r.destination_id])),
          remediation: group.remediation,
          last_message: sample[0]?.error_message ?? '',
          runs: runs.slice(0, RUNS_LISTED).map((r) => r.run_id),
          run_count: runs.length,
        });
      }
    }
  } finally {
    await store.close();
  }
  return issues;
}
