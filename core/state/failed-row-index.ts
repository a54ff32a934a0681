/**
 * The failed-row index: one row per sync and primary key still failing. It holds policy and the last
 * error only; the row's values are always re-read from the model, never replayed from here.
 *
 * The statements are built as SQL text over a derived table of rows (see `commit-batch.ts`), so the
 * per-batch commit can send them together with its other statements.
 */
import type { Failure } from '../../connectors/destination.js';
import { quoteLiteral as literal } from '../db/sql-text.js';

/** Drops keys from the index; `keyIn` is a condition on `primary_key` naming them. */
export function removeFailuresSql(syncName: string, keyIn: string): string {
  return `delete from failed_rows where sync_name = ${literal(syncName)} and ${keyIn}`;
}

export interface FailureRow {
  key: string;
  op: string;
  sends: number;
  failure: Failure;
}

/** The columns `recordFailuresSql` reads from its derived table, all text. */
export const FAILURE_COLUMNS = ['primary_key', 'op', 'attempts', 'error_class', 'error_code', 'error_message'] as const;

export function failureRows(failures: FailureRow[]): Array<Record<(typeof FAILURE_COLUMNS)[number], string>> {
  return failures.map((f) => ({
    primary_key: f.key,
    op: f.op,
    attempts: String(Math.max(1, f.sends)),
    error_class: f.failure.errorClass,
    error_code: f.failure.code,
    error_message: f.failure.message,
  }));
}

/**
 * Upserts failures from `rows` (a derived table of FAILURE_COLUMNS); attempts accumulate across runs.
 * A failed row is due again on the next run, so `next_retry_at` is the failure time itself.
 */
export function recordFailuresSql(syncName: string, runId: string, now: string, rows: string): string {
  const at = `cast(${literal(now)} as timestamptz)`;
  return `insert into failed_rows (sync_name, primary_key, error_class, error_code, error_message, attempts,
      first_failed_at, last_failed_at, next_retry_at, status, run_id, op)
    select ${literal(syncName)}, r.primary_key, r.error_class, r.error_code, r.error_message, cast(r.attempts as integer),
      ${at}, ${at}, ${at}, 'retrying', ${literal(runId)}, r.op
    from ${rows} as r
    on conflict (sync_name, primary_key) do update set
      error_class = excluded.error_class,
      error_code = excluded.error_code,
      error_message = excluded.error_message,
      attempts = failed_rows.attempts + excluded.attempts,
      last_failed_at = excluded.last_failed_at,
      next_retry_at = excluded.next_retry_at,
      status = excluded.status,
      run_id = excluded.run_id,
      op = excluded.op`;
}
