/**
 * The `failed_rows:` key of a sync file: what happens to a failed row across runs (the in-run `retry:`
 * block is about one run's sends). Parsed once at load time; defaults keep the every-run retry.
 *
 *   failed_rows:
 *     min_interval: 20m                  # at least this long between a row's tries (default 0: every run)
 *     backoff: { base: 5m, max: 6h }     # full-jitter exponential wait between tries (default none)
 *     max_tries: 10                      # then the row moves to the timeout queue (default: no limit)
 *     timeout_queue: "0 0 * * *"         # when the timeout queue is retried (default nightly, 00:00 UTC)
 *     block: true                        # block rows whose error needs a change of values (default true)
 *   retention: 30d                       # sync_runs and sync_changelog kept this long (default 30d)
 */
import { UserError } from '../../shared/errors.js';
import { MAX_INTERVAL_MS, parseInterval, parseSchedule, type Schedule } from './schedule.js';
import type { YamlPath } from './yaml-source.js';

export interface FailedRowsPolicy {
  /** Least time between two tries of a row, in ms; 0 retries it on every run. */
  min_interval_ms: number;
  /** Exponential backoff with full jitter between tries: random(0, min(max, base · 2^(tries-1))). */
  backoff: { base_ms: number; max_ms: number } | null;
  /** Tries after which a row moves to the timeout queue; null never does. */
  max_tries: number | null;
  /** When timed-out rows are due again: every row of the queue at the same slot. */
  timeout_queue: Exclude<Schedule, { kind: 'manual' }>;
  /** Whether an error the catalogue marks as blocking blocks the row. */
  block: boolean;
}

/** HubSpot deletes sync logs after 30 days; history is for looking back at recent runs, not an archive. */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;

export const DEFAULT_TIMEOUT_QUEUE: FailedRowsPolicy['timeout_queue'] = { kind: 'cron', cron: '0 0 * * *', timezone: 'UTC' };

export const DEFAULT_FAILED_ROWS_POLICY: FailedRowsPolicy = {
  min_interval_ms: 0,
  backoff: null,
  max_tries: null,
  timeout_queue: DEFAULT_TIMEOUT_QUEUE,
  block: true,
};

interface Where {
  file: string;
  lineOf(path: YamlPath): number;
}

export interface RawFailedRows {
  min_interval?: string;
  backoff?: { base?: string; max?: string };
  max_tries?: number;
  timeout_queue?: unknown;
  block?: boolean;
}

/** The policy of `failed_rows:` (shape already checked by the JSON Schema). Throws a UserError naming the line. */
export function parseFailedRowsPolicy(raw: RawFailedRows | undefined, where: Where): FailedRowsPolicy {
  if (raw === undefined || raw === null) return DEFAULT_FAILED_ROWS_POLICY;
  const interval = (path: string[], text: string, allowZero: boolean): number => {
    const ms = parseInterval(text);
    const fail = (problem: string) =>
      new UserError(problem, {
        file: where.file,
        line: where.lineOf(path),
        field: path.join('.'),
        hint: 'write a number and a unit (s, m, h, d), largest first, e.g. 20m or 1h30m.',
      });
    if (ms === undefined) throw fail(`${JSON.stringify(text)} is not an interval.`);
    if (!allowZero && ms === 0) throw fail('must be longer than 0.');
    if (ms > MAX_INTERVAL_MS) throw fail(`${text} is longer than the maximum of 365d.`);
    return ms;
  };
  const policy: FailedRowsPolicy = { ...DEFAULT_FAILED_ROWS_POLICY };
  if (raw.min_interval !== undefined) policy.min_interval_ms = interval(['failed_rows', 'min_interval'], raw.min_interval, true);
  if (raw.backoff !== undefined) {
    const base = interval(['failed_rows', 'backoff', 'base'], raw.backoff.base ?? '1m', false);
    const max = interval(['failed_rows', 'backoff', 'max'], raw.backoff.max ?? '1d', false);
    if (max < base) {
      throw new UserError('is shorter than backoff.base.', {
        file: where.file,
        line: where.lineOf(['failed_rows', 'backoff', 'max']),
        field: 'failed_rows.backoff.max',
        hint: 'make max at least base: it caps the wait, base starts it.',
      });
    }
    policy.backoff = { base_ms: base, max_ms: max };
  }
  if (raw.max_tries !== undefined) policy.max_tries = raw.max_tries;
  if (raw.timeout_queue !== undefined) {
    const schedule = parseSchedule(raw.timeout_queue, where, ['failed_rows', 'timeout_queue']);
    if (schedule.kind === 'manual') {
      throw new UserError('cannot be manual.', {
        file: where.file,
        line: where.lineOf(['failed_rows', 'timeout_queue']),
        field: 'failed_rows.timeout_queue',
        hint: 'give an interval or a cron expression, e.g. "0 0 * * *" (nightly); `retry --status timeout_queue` retries the queue at once.',
      });
    }
    policy.timeout_queue = schedule;
  }
  if (raw.block !== undefined) policy.block = raw.block;
  return policy;
}

/** `retention:` of a sync file, in ms. */
export function parseRetention(raw: string | undefined, where: Where): number {
  if (raw === undefined) return DEFAULT_RETENTION_MS;
  const ms = parseInterval(raw);
  if (ms === undefined || ms < 86_400_000) {
    throw new UserError(ms === undefined ? `${JSON.stringify(raw)} is not an interval.` : `${raw} is shorter than the minimum of 1d.`, {
      file: where.file,
      line: where.lineOf(['retention']),
      field: 'retention',
      hint: 'write a number of days such as 30d (at least 1d: status and the scheduler read the last runs).',
    });
  }
  return ms;
}
