/**
 * DuckDB's memory cap on the state store while a run sends, lower than the plan's (planner.ts): the
 * plan needs room for its joins, the send only pages through `ht_plan` and commits small batches.
 * Under the plan's 640 MB DuckDB kept the changed rows' payloads of `ht_plan` in memory for the whole
 * send (1M narrow rows, or 200k rows of 2.5 kB: 250–500 MB); past this cap they go to DuckDB's temp
 * file and each page is read back from there once. The setting is the instance's: the next plan sets
 * its own again. HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT, when set, holds for both.
 */
import { sql } from 'kysely';
import type { StateStore } from '../state/state-store.js';

export const SEND_DUCKDB_MEMORY_LIMIT = '256MB';

export async function capSendMemory(store: StateStore): Promise<void> {
  if (store.dialect !== 'duckdb' || process.env.HIGHTOUCH_LIKE_DUCKDB_MEMORY_LIMIT) return;
  await sql.raw(`set memory_limit = '${SEND_DUCKDB_MEMORY_LIMIT}'`).execute(store.db);
}
