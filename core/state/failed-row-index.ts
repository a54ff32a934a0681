/**
 * The failed-row index: one row per sync and primary key still failing. It holds policy and the last
 * error only; the row's values are always re-read from the model, never replayed from here.
 *
 * The statements are built as SQL text over a derived table of rows (see `commit-batch.ts`), so the
 * per-batch commit can send them together with its other statements.
 */
import type { Failure } from '../../connectors/destination.js';
import type { FailedRowsPolicy } from '../config/types.js';
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
  /** The destination record behind the row, when one is known (its acknowledged id). */
  destinationId: string | null;
  /** The hash of the values that failed; null for a delete. */
  rowHash: string | null;
}

/** The columns `recordFailuresSql` reads from its derived table, all text. */
export const FAILURE_COLUMNS = [
  'primary_key',
  'op',
  'attempts',
  'error_class',
  'error_code',
  'error_message',
  'remediation',
  'blocks',
  'destination_id',
  'row_hash',
] as const;

export function failureRows(failures: FailureRow[]): Array<Record<(typeof FAILURE_COLUMNS)[number], string | null>> {
  return failures.map((f) => ({
    primary_key: f.key,
    op: f.op,
    attempts: String(Math.max(1, f.sends)),
    error_class: f.failure.errorClass,
    error_code: f.failure.code,
    error_message: f.failure.message,
    remediation: f.failure.remediation ?? null,
    blocks: f.failure.blocks ? '1' : '0',
    destination_id: f.destinationId,
    row_hash: f.rowHash,
  }));
}

/** What the failure-recording statement needs beyond the rows: the policy and the instants it gives. */
export interface FailurePolicyContext {
  policy: FailedRowsPolicy;
  /** The mapping the rows were sent with: a blocked row is sent again once it changes. */
  mappingHash: string;
  now: Date;
  /** The timeout queue's next slot after `now`. */
  nextQueueSlot: Date;
}

/**
 * `now + wait` as SQL, for a row failing its `tries`-th time: at least `min_interval`, and with backoff a
 * full-jitter wait random(0, min(max, base · 2^(tries-1))), drawn by the database (DuckDB and PostgreSQL
 * both have random()). Base 5m, max 6h: ceilings of 5, 10, 20, 40, 80, 160, 320, 360, 360… minutes.
 */
function nextTrySql(policy: FailedRowsPolicy, at: string, tries: string): string {
  const backoff = policy.backoff
    ? `random() * least(${policy.backoff.max_ms}, ${policy.backoff.base_ms} * power(2, least(${tries} - 1, 40)))`
    : '0';
  return `${at} + cast(floor(greatest(${policy.min_interval_ms}, ${backoff})) as bigint) * interval '1 millisecond'`;
}

/**
 * Upserts failures from `rows` (a derived table of FAILURE_COLUMNS). `attempts` accumulates sends,
 * `tries` the runs that failed the row; then the policy decides, in the same statement:
 * - a blocking error (per the connector's catalogue, unless `block: false`): `blocked`, `next_retry_at`
 *   null (the next run sends it if its values or the mapping changed);
 * - `tries` reaching `max_tries`: `timeout_queue`, due at the queue's next slot;
 * - else `retrying`, due after the policy's wait (`next_retry_at` = the failure time when there is none).
 */
export function recordFailuresSql(syncName: string, runId: string, context: FailurePolicyContext, rows: string): string {
  const { policy } = context;
  const at = `cast(${literal(context.now.toISOString())} as timestamptz)`;
  const slot = `cast(${literal(context.nextQueueSlot.toISOString())} as timestamptz)`;
  const timedOut = (tries: string) => (policy.max_tries === null ? 'false' : `${tries} >= ${policy.max_tries}`);
  const status = (blocked: string, tries: string) =>
    `case when ${blocked} then 'blocked' when ${timedOut(tries)} then 'timeout_queue' else 'retrying' end`;
  const next = (blocked: string, tries: string) =>
    `case when ${blocked} then null when ${timedOut(tries)} then ${slot} else ${nextTrySql(policy, at, tries)} end`;
  const blocks = policy.block ? `r.blocks = '1'` : 'false';
  const wasBlocked = `excluded.status = 'blocked'`;
  const tries = 'coalesce(failed_rows.tries, 1) + 1';
  return `insert into failed_rows (sync_name, primary_key, error_class, error_code, error_message, attempts,
      first_failed_at, last_failed_at, next_retry_at, status, run_id, op, tries, remediation, destination_id, row_hash, mapping_hash)
    select ${literal(syncName)}, r.primary_key, r.error_class, r.error_code, r.error_message, cast(r.attempts as integer),
      ${at}, ${at}, ${next(blocks, '1')}, ${status(blocks, '1')}, ${literal(runId)}, r.op, 1, r.remediation, r.destination_id,
      r.row_hash, ${literal(context.mappingHash)}
    from ${rows} as r
    on conflict (sync_name, primary_key) do update set
      error_class = excluded.error_class,
      error_code = excluded.error_code,
      error_message = excluded.error_message,
      attempts = failed_rows.attempts + excluded.attempts,
      last_failed_at = excluded.last_failed_at,
      next_retry_at = ${next(wasBlocked, tries)},
      status = ${status(wasBlocked, tries)},
      run_id = excluded.run_id,
      op = excluded.op,
      tries = ${tries},
      remediation = excluded.remediation,
      destination_id = coalesce(excluded.destination_id, failed_rows.destination_id),
      row_hash = excluded.row_hash,
      mapping_hash = excluded.mapping_hash`;
}
