/**
 * Delivers one batch with the in-run retry policy. Runs inside a worker thread.
 *
 * The connector classifies each failure; this decides:
 * - a whole batch `rejected` is split in halves until the bad rows are isolated, so good rows land;
 * - `transient` rows are retried with full-jitter backoff up to `retry.attempts` sends; each half of a
 *   split starts a budget of its own, so good rows sharing halves with a bad one never run out of it;
 * - `rate_limited` waits (Retry-After when given) do not spend attempts, but are bounded;
 * - `rejected`, `needs_change`, `schema_drift` rows fail at once: the same values fail again;
 * - `auth` and `fatal` stop the batch; its unsent rows are reported as aborted and the run stops.
 * Only failed rows are ever re-sent.
 */
import {
  DestinationError,
  type DestinationClient,
  type Failure,
  type OutboundRow,
  type RowOp,
} from '../../connectors/destination.js';
import type { RetryPolicy } from '../config/types.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DeliveredRow } from '../state/commit-batch.js';

export type { DeliveredRow };

/** A rate-limited batch waits at most this many times before its rows count as failed. */
export const MAX_RATE_LIMIT_WAITS = 20;

export interface DeliveryResult {
  rows: DeliveredRow[];
  apiCalls: number;
  /** Set when an auth or fatal failure stopped the batch: the run must stop. */
  fatal: Failure | null;
}

interface Group {
  rows: OutboundRow[];
  /**
   * Sends of this group that failed transiently (its rows share that history). A split starts each
   * half at 0: the halves are new requests, made because of a rejection, not a flaky destination. A
   * row is thus sent at most `attempts` times per level of splitting: 5 × 10 levels for 500 rows.
   */
  transientAttempts: number;
  rateLimitWaits: number;
}

export async function deliverBatch(
  client: DestinationClient,
  op: RowOp,
  rows: OutboundRow[],
  retry: RetryPolicy,
  random: () => number = Math.random,
): Promise<DeliveryResult> {
  const sends = new Map<string, number>();
  const done = new Map<string, DeliveredRow>();
  let apiCalls = 0;
  let fatal: Failure | null = null;
  const queue: Group[] = [{ rows, transientAttempts: 0, rateLimitWaits: 0 }];

  const fail = (row: OutboundRow, failure: Failure) =>
    done.set(row.key, { key: row.key, status: 'failed', failure, sends: sends.get(row.key) ?? 0 });

  /** Re-queue after a wait, or give up when the budget is spent. */
  const retryLater = async (group: Group, failure: Failure) => {
    if (failure.errorClass === 'rate_limited') {
      if (group.rateLimitWaits >= MAX_RATE_LIMIT_WAITS) return group.rows.forEach((r) => fail(r, failure));
      await sleep(failure.retryAfterMs ?? backoffDelay(group.rateLimitWaits, retry.base_delay_ms, retry.max_delay_ms, random));
      queue.push({ ...group, rateLimitWaits: group.rateLimitWaits + 1 });
      return;
    }
    const attempts = group.transientAttempts + 1;
    if (attempts >= retry.attempts) return group.rows.forEach((r) => fail(r, failure));
    await sleep(Math.max(failure.retryAfterMs ?? 0, backoffDelay(attempts, retry.base_delay_ms, retry.max_delay_ms, random)));
    queue.push({ ...group, transientAttempts: attempts });
  };

  while (queue.length > 0 && !fatal) {
    const group = queue.shift()!;
    for (const row of group.rows) sends.set(row.key, (sends.get(row.key) ?? 0) + 1);
    let results;
    try {
      const outcome = await client.write(op, group.rows);
      apiCalls += outcome.apiCalls;
      results = outcome.results;
    } catch (error) {
      const failure = asFailure(error);
      apiCalls += error instanceof DestinationError ? error.apiCalls : 1;
      switch (failure.errorClass) {
        case 'auth':
        case 'fatal':
          fatal = failure;
          group.rows.forEach((r) => done.set(r.key, { key: r.key, status: 'aborted', failure, sends: sends.get(r.key) ?? 0 }));
          break;
        case 'transient':
        case 'rate_limited':
          await retryLater(group, failure);
          break;
        default:
          // The whole call was refused for some row in it: halve until the bad rows stand alone.
          if (group.rows.length === 1) fail(group.rows[0], failure);
          else {
            const middle = Math.ceil(group.rows.length / 2);
            queue.push(
              { ...group, rows: group.rows.slice(0, middle), transientAttempts: 0 },
              { ...group, rows: group.rows.slice(middle), transientAttempts: 0 },
            );
          }
      }
      continue;
    }

    const byKey = new Map(results.map((r) => [r.key, r]));
    const again: OutboundRow[] = [];
    let againFailure: Failure | null = null;
    for (const row of group.rows) {
      const result = byKey.get(row.key);
      if (!result) {
        again.push(row);
        againFailure ??= { errorClass: 'transient', code: 'NO_RESULT', message: 'the destination returned no result for this row' };
      } else if (result.ok) {
        done.set(row.key, { key: row.key, status: 'succeeded', destinationId: result.destinationId ?? row.destinationId, sends: sends.get(row.key)! });
      } else if (result.failure.errorClass === 'transient' || result.failure.errorClass === 'rate_limited') {
        again.push(row);
        againFailure = result.failure;
      } else {
        fail(row, result.failure);
        if (result.failure.errorClass === 'auth' || result.failure.errorClass === 'fatal') fatal ??= result.failure;
      }
    }
    if (again.length && !fatal) await retryLater({ ...group, rows: again }, againFailure!);
  }

  const out: DeliveredRow[] = rows.map(
    (row) =>
      done.get(row.key) ?? { key: row.key, status: 'aborted' as const, failure: fatal ?? undefined, sends: sends.get(row.key) ?? 0 },
  );
  return { rows: out, apiCalls, fatal };
}

function asFailure(error: unknown): Failure {
  if (error instanceof DestinationError) return error.failure;
  // A connector bug, not a destination answer: stop rather than retry blindly.
  const message = error instanceof Error ? error.message : String(error);
  return { errorClass: 'fatal', code: 'CONNECTOR_ERROR', message };
}
