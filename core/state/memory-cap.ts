/**
 * DuckDB's memory cap for the state store, by phase. Past the cap DuckDB spills to its temp files
 * (its default cap is 80% of the machine's memory).
 * - `plan`: the diff (hash joins over model and snapshot) and the snapshot fold after a run: 640MB kept
 *   a 10M-row plan under 1 GiB of peak RSS; a 1M-row fold failed ("Out of Memory") at 256MB.
 * - `diff`: the plan's diff of a plain-read model (planner.ts), whose join carries key and hash only,
 *   and the staging and diff of a PostgreSQL warehouse's rows hashed by values (a payload only for the
 *   rows that may be sent), against a snapshot of at most 20M rows (`diffPhase`): 10M rows took 3.0 s at 320MB, 400MB and
 *   512MB alike, peaking at 0.79–0.85 GiB at 400MB against 1.06–1.13 GiB at 640MB (the process holds
 *   more than DuckDB's cap counts). At 100M rows the join ran out of memory at 400MB; it takes `plan`.
 *   The plain-read plan's tail (the sort of the rows to send, payloads and all) stays under it: 1M
 *   changed rows peaked at 0.72–0.75 GiB against 0.92–1.07 GiB, 0.8 s slower.
 * - `send`: while batches go out, DuckDB holds only the plan table's pages and each commit's rows. A
 *   cap of 256MB keeps the plan table (200k wide rows: 500 MB of payload JSON) on disk rather than in
 *   memory: the 200k wide-row write peaked at 898 MiB against 1.1–1.3 GiB with 640MB.
 * - `fold`: folding the snapshot log of a snapshot of at most 1M rows (snapshot-log.ts): 1M log rows into
 *   1M snapshot rows peaked at 916 MiB of RSS under 448MB against 974 MiB under 640MB, and took 2.3 s
 *   against 3.2 s; a fold that runs out of it is done again under the `plan` cap.
 * Override with HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT (plan, and diff unless HIGHTOUCH_LIKE_DUCKDB_DIFF_MEMORY_LIMIT
 * is set), HIGHTOUCH_LIKE_DUCKDB_SEND_MEMORY_LIMIT and HIGHTOUCH_LIKE_DUCKDB_FOLD_MEMORY_LIMIT.
 */
import { sql } from 'kysely';
import type { StateStore } from './state-store.js';
import { quoteLiteral } from '../db/sql-text.js';

const LIMITS = { plan: '640MB', diff: '400MB', send: '256MB', fold: '448MB' } as const;

/** The environment variables that override each phase's cap; the first one set wins. */
const OVERRIDES: Record<keyof typeof LIMITS, string[]> = {
  plan: ['HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT'],
  diff: ['HIGHTOUCH_LIKE_DUCKDB_DIFF_MEMORY_LIMIT', 'HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT'],
  send: ['HIGHTOUCH_LIKE_DUCKDB_SEND_MEMORY_LIMIT'],
  fold: ['HIGHTOUCH_LIKE_DUCKDB_FOLD_MEMORY_LIMIT'],
};

export function duckdbMemoryLimit(phase: keyof typeof LIMITS): string {
  return OVERRIDES[phase].map((name) => process.env[name]).find(Boolean) || LIMITS[phase];
}

/** Whether DuckDB refused a statement for want of memory under its cap (the statement is rolled back). */
export function isOutOfMemory(error: unknown): boolean {
  return /out of memory/i.test(String((error as Error)?.message ?? error));
}

/** The cap of a plain-read diff against a snapshot of `snapshotRows` rows (see `diff` above). */
export function diffPhase(snapshotRows: number): 'diff' | 'plan' {
  return snapshotRows <= 20_000_000 ? 'diff' : 'plan';
}

/** Sets the cap of `phase` on a DuckDB state store; PostgreSQL manages its own memory. */
export async function capDuckDBMemory(store: StateStore, phase: keyof typeof LIMITS): Promise<void> {
  if (store.dialect !== 'duckdb') return;
  await sql.raw(`set memory_limit = ${quoteLiteral(duckdbMemoryLimit(phase))}`).execute(store.db);
}

/**
 * PostgreSQL state, while a sync plans: `work_mem` for the diff's hash joins and sorts, and no JIT. At
 * the default 4MB, 1M snapshot rows spilled the join into 16 batches and the duplicate check's sort to
 * disk; JIT compiled each planning statement for 0.4–0.6 s and made none faster (1M rows: 6.4 s
 * planned against 5.5 s without JIT and at 64MB). Both are the session's own and reset after the plan.
 * Override `work_mem` with HIGHTOUCH_LIKE_POSTGRES_WORK_MEM.
 */
export async function postgresPlanSettings(store: StateStore, planning: boolean): Promise<void> {
  if (store.dialect !== 'postgres') return;
  const workMem = process.env.HIGHTOUCH_LIKE_POSTGRES_WORK_MEM || '64MB';
  const text = planning ? `set work_mem = ${quoteLiteral(workMem)}; set jit = off` : 'reset work_mem; reset jit';
  await sql.raw(text).execute(store.db);
}
