/**
 * What a run shows while it works: a progress bar on a terminal, otherwise one structured JSON log
 * line per event (pino) on stderr. Results go to stdout, so `--json` output stays parseable.
 */
import type cliProgress from 'cli-progress';
import { lazyRequire } from '../../shared/lazy-require.js';
import { pino, stdTimeFunctions, destination } from 'pino';
import type { RunEvent } from '../run/events.js';
import type { SyncReport } from '../run/sync-report.js';

// The bar is drawn on a terminal only.
const progress = lazyRequire<typeof cliProgress>('cli-progress');

export interface Reporter {
  onEvent(event: RunEvent): void;
  stop(): void;
}

/** One JSON line per entry on stderr: `{"level":30,"time":"…","msg":"<event>",…fields}`. */
export function createJsonLogger() {
  return pino({ base: null, timestamp: stdTimeFunctions.isoTime }, destination({ fd: 2, sync: true }));
}

/** Events come masked from the run controller. */
export function createReporter(options: { interactive: boolean }): Reporter {
  const logger = createJsonLogger();
  if (!options.interactive) {
    return {
      onEvent(event) {
        if (event.type === 'progress') {
          const { sync, planned, succeeded, failed, api_calls } = event;
          logger.info({ sync, planned, succeeded, failed, api_calls }, 'progress');
          return;
        }
        const { type, ...fields } = event;
        logger.info(fields, type);
      },
      stop() {},
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  return {
    onEvent(event) {
      if (event.type === 'run_started') {
        bar?.stop();
        bar = new (progress().SingleBar)(
          {
            format: `${event.sync} [{bar}] {value}/{total} rows | failed {failed} | {duration}s`,
            hideCursor: true,
            stream: process.stderr,
          },
          progress().Presets.shades_classic,
        );
        bar.start(event.planned, 0, { failed: 0 });
        return;
      }
      if (event.type === 'progress') {
        bar?.update(event.succeeded + event.failed + event.aborted, { failed: event.failed });
        return;
      }
      if (event.type === 'run_finished' || event.type === 'run_failed') {
        bar?.stop();
        bar = null;
      }
      if (
        event.type === 'invalid_row' ||
        event.type === 'run_failed' ||
        event.type === 'sync_skipped' ||
        event.type === 'mapping_warning' ||
        event.type === 'alert_delivery_failed'
      ) {
        const { type, ...fields } = event;
        logger.warn(fields, type);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

export function formatSummary(report: SyncReport): string {
  if (report.status === 'skipped') return `${report.sync}: skipped — ${report.error}`;
  const p = report.plan;
  const seconds = (report.duration_ms / 1000).toFixed(2);
  if (report.status === 'planned') {
    return (
      `${report.sync}: plan — ${p.planned} to send (${p.to_insert} insert, ${p.to_update} update, ${p.to_delete} delete); ` +
      `added ${p.added}, changed ${p.changed}, removed ${p.removed}, unchanged ${p.unchanged}, retrying ${p.retrying}, invalid ${p.invalid}` +
      (p.blocked || p.waiting ? `; held back: ${p.blocked} blocked, ${p.waiting} waiting for their retry time` : '') +
      (p.held_by_budget ? `; ${p.held_by_budget} retries held back by the API budget: ${report.retries_held_reason}` : '') +
      (p.superseded ? `; ${p.superseded} deletes dropped (a write of the run addresses the same record)` : '') +
      (report.delete_guard?.stops
        ? `\n  delete guard: the run would stop: ${report.delete_guard.reason} (run --allow-deletes to let it through)`
        : '')
    );
  }
  return (
    `${report.sync}: ${report.status} — planned ${p.planned}, sent ${report.sent}, succeeded ${report.succeeded}, ` +
    `failed ${report.failed}, invalid ${report.invalid}, API calls ${report.api_calls}, ${seconds}s` +
    (report.aborted ? `, aborted ${report.aborted}` : '') +
    (report.retries_held ? `\n  ${report.retries_held} failed-row retries held back: ${report.retries_held_reason}` : '') +
    (report.dropped_fields.length
      ? `\n  self-healed: dropped ${report.dropped_fields.join(', ')} from the payloads (gone from the destination)`
      : '') +
    (report.error ? `\n  error: ${report.error}` : '')
  );
}
