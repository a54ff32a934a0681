/**
 * Delivers one batch with the in-run retry policy. Runs inside a worker thread.
 *
 * The connector classifies each failure; this decides:
 * - a whole batch `rejected` is split in halves until the bad rows are isolated, so good rows land,
 *   depth first and within a budget of split requests (see `splitBudget`);
 * - `transient` rows are retried with full-jitter backoff up to `retry.attempts` sends; each half of a
 *   split starts a budget of its own, so good rows sharing halves with a bad one never run out of it;
 * - `rate_limited` waits (Retry-After when given) do not spend attempts, but are bounded;
 * - `rejected`, `needs_change`, `schema_drift` rows fail at once: the same values fail again;
 * - `auth`, `fatal` and `quota` stop the batch; its unsent rows are reported as aborted and the run stops
 *   (for `quota` the executor defers them instead of failing the run).
 * Only failed rows are ever re-sent.
 */
import {
  DestinationError,
  type ApiUsage,
  type DestinationClient,
  type Failure,
  type OutboundRow,
  type RowOp,
  type RowResult,
} from '../../connectors/destination.js';
import type { RetryPolicy } from '../config/types.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DeliveredRow } from '../state/commit-batch.js';

export type { DeliveredRow };

/** A rate-limited batch waits at most this many times before its rows count as failed. */
export const MAX_RATE_LIMIT_WAITS = 20;

/**
 * Split requests one batch of `n` rows may make: enough to isolate 3 bad rows wherever they sit (each
 * costs at most 2 requests per level, ⌈log2 n⌉ levels). Splitting a batch whose every row is refused
 * would otherwise cost 2n − 2 requests (1,000 rows in batches of 100: 1,990 per run); with the budget a
 * batch costs at most 1 + 6·⌈log2 n⌉ requests (43 for 100 rows), transient retries aside. Rows left in
 * groups when the budget runs out fail with the batch's error, not blocked (they were never tried
 * alone), and are retried by the sync's policy; the rows isolated meanwhile are blocked when their
 * error blocks, so the next runs send fewer.
 */
export function splitBudget(rows: number): number {
  return rows < 2 ? 0 : 6 * Math.ceil(Math.log2(rows));
}

export interface DeliveryResult {
  rows: DeliveredRow[];
  apiCalls: number;
  /** Set when an auth, fatal or quota failure stopped the batch: the run must stop. */
  fatal: Failure | null;
  /**
   * Rows acknowledged (the common case), as their indexes in
   * the task's rows (write-worker.ts); `rows` then holds only the others. A batch of 100 rows crosses
   * back to the main thread as 100 numbers instead of 100 objects, and its commit copies those rows
   * from the plan table inside the database (commit-batch.ts) instead of appending each from JavaScript.
   */
  plain?: number[];
  /** The plain rows acknowledged under a new destination id (a record the write created): [index, id]. */
  newIds?: Array<[number, string]>;
  /** For a job's rows: whether the job's results were read (false: it stays recorded for the next run). */
  jobSettled?: boolean;
  /** The destination's API usage as its last answer reported it. */
  apiUsage?: ApiUsage;
  /** A queued batch the gate sent back (the run stopped, or a heal changed the target): nothing was sent. */
  unsent?: true;
  /** Queued batches wait until the executor has judged this one (send-gate.ts): it must release them. */
  judging?: true;
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
  return new BatchDelivery(client, op, retry, random).run(rows);
}

/** One batch's delivery: the groups still to send, and what became of each row so far. */
class BatchDelivery {
  private readonly queue: Group[] = [];
  private readonly sends = new Map<string, number>();
  private readonly done = new Map<string, DeliveredRow>();
  private apiCalls = 0;
  private apiUsage: ApiUsage | undefined;
  private fatal: Failure | null = null;
  private splitsLeft = 0;

  constructor(
    private readonly client: DestinationClient,
    private readonly op: RowOp,
    private readonly retry: RetryPolicy,
    private readonly random: () => number,
  ) {}

  async run(rows: OutboundRow[]): Promise<DeliveryResult> {
    this.splitsLeft = splitBudget(rows.length);
    this.queue.push({ rows, transientAttempts: 0, rateLimitWaits: 0 });
    while (this.queue.length > 0 && !this.fatal) {
      const group = this.queue.shift()!;
      for (const row of group.rows) this.sends.set(row.key, this.sendsOf(row) + 1);
      let results: RowResult[];
      try {
        const outcome = await this.client.write(this.op, group.rows);
        this.apiCalls += outcome.apiCalls;
        this.apiUsage = outcome.apiUsage ?? this.apiUsage;
        results = outcome.results;
      } catch (error) {
        this.apiCalls += error instanceof DestinationError ? error.apiCalls : 1;
        if (error instanceof DestinationError) this.apiUsage = error.apiUsage ?? this.apiUsage;
        await this.callFailed(group, asFailure(error));
        continue;
      }
      await this.answered(group, results);
    }
    const delivered = rows.map(
      (row): DeliveredRow =>
        this.done.get(row.key) ?? { key: row.key, status: 'aborted', failure: this.fatal ?? undefined, sends: this.sendsOf(row) },
    );
    const result: DeliveryResult = { rows: delivered, apiCalls: this.apiCalls, fatal: this.fatal };
    if (this.apiUsage) result.apiUsage = this.apiUsage;
    return result;
  }

  /** The whole call failed, for every row of the group alike. */
  private async callFailed(group: Group, failure: Failure) {
    switch (failure.errorClass) {
      case 'auth':
      case 'fatal':
      case 'quota':
        this.fatal = failure;
        group.rows.forEach((r) => this.done.set(r.key, { key: r.key, status: 'aborted', failure, sends: this.sendsOf(r) }));
        break;
      case 'transient':
      case 'rate_limited':
        await this.retryLater(group, failure);
        break;
      default:
        // The whole call was refused for some row in it: halve until the bad rows stand alone, depth
        // first, so a budget that runs out has isolated whole rows rather than half-split every group.
        if (group.rows.length === 1) this.fail(group.rows[0], failure);
        else if (this.splitsLeft < 2) {
          const unsplit: Failure = {
            ...failure,
            blocks: false,
            message: `sent in a batch refused as a whole, not tried alone (split budget spent): ${failure.message}`,
          };
          group.rows.forEach((r) => this.fail(r, unsplit));
        } else {
          this.splitsLeft -= 2;
          const middle = Math.ceil(group.rows.length / 2);
          this.queue.unshift(
            { ...group, rows: group.rows.slice(0, middle), transientAttempts: 0 },
            { ...group, rows: group.rows.slice(middle), transientAttempts: 0 },
          );
        }
    }
  }

  /** The call answered row by row: settle each row, and send the transient failures again. */
  private async answered(group: Group, results: RowResult[]) {
    const byKey = new Map(results.map((r) => [r.key, r]));
    const again: OutboundRow[] = [];
    let againFailure: Failure | null = null;
    for (const row of group.rows) {
      const result = byKey.get(row.key);
      if (!result) {
        again.push(row);
        againFailure ??= { errorClass: 'transient', code: 'NO_RESULT', message: 'the destination returned no result for this row' };
      } else if (result.ok) {
        this.done.set(row.key, {
          key: row.key,
          status: 'succeeded',
          destinationId: result.destinationId ?? row.destinationId,
          sends: this.sendsOf(row),
        });
      } else if (result.failure.errorClass === 'transient' || result.failure.errorClass === 'rate_limited') {
        again.push(row);
        againFailure = result.failure;
      } else {
        this.fail(row, result.failure);
        if (['auth', 'fatal', 'quota'].includes(result.failure.errorClass)) this.fatal ??= result.failure;
      }
    }
    if (again.length && !this.fatal) await this.retryLater({ ...group, rows: again }, againFailure!);
  }

  /** Re-queue after a wait, or give up when the budget is spent. */
  private async retryLater(group: Group, failure: Failure) {
    const { attempts, base_delay_ms, max_delay_ms } = this.retry;
    if (failure.errorClass === 'rate_limited') {
      if (group.rateLimitWaits >= MAX_RATE_LIMIT_WAITS) return group.rows.forEach((r) => this.fail(r, failure));
      await sleep(failure.retryAfterMs ?? backoffDelay(group.rateLimitWaits, base_delay_ms, max_delay_ms, this.random));
      this.queue.push({ ...group, rateLimitWaits: group.rateLimitWaits + 1 });
      return;
    }
    const transientAttempts = group.transientAttempts + 1;
    if (transientAttempts >= attempts) return group.rows.forEach((r) => this.fail(r, failure));
    await sleep(Math.max(failure.retryAfterMs ?? 0, backoffDelay(transientAttempts, base_delay_ms, max_delay_ms, this.random)));
    this.queue.push({ ...group, transientAttempts });
  }

  private fail(row: OutboundRow, failure: Failure) {
    this.done.set(row.key, { key: row.key, status: 'failed', failure, sends: this.sendsOf(row) });
  }

  private sendsOf(row: OutboundRow): number {
    return this.sends.get(row.key) ?? 0;
  }
}

function asFailure(error: unknown): Failure {
  if (error instanceof DestinationError) return error.failure;
  // A connector bug, not a destination answer: stop rather than retry blindly.
  const message = error instanceof Error ? error.message : String(error);
  return { errorClass: 'fatal', code: 'CONNECTOR_ERROR', message };
}
