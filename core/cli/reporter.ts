/**
 * What a run shows while it works: a progress bar on a terminal, otherwise one structured JSON log
 * line per event (pino) on stderr. Results go to stdout, so `--json` output stays parseable.
 */
import cliProgress from 'cli-progress';
import { pino, stdTimeFunctions, destination } from 'pino';
import type { RunTotals } from '../execute/executor.js';
import type { RunEvents, SyncReport } from '../run/run-sync.js';

export function createReporter(options: { interactive: boolean; mask: (text: string) => string }): RunEvents & { stop(): void } {
  const logger = pino({ base: null, timestamp: stdTimeFunctions.isoTime }, destination({ fd: 2, sync: true }));
  // Each string is masked before pino escapes it: a secret holding `"` is found raw, not as `\"`.
  const maskDeep = (value: unknown): unknown => {
    if (typeof value === 'string') return options.mask(value);
    if (Array.isArray(value)) return value.map(maskDeep);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v)]));
    return value;
  };
  const clean = (fields: Record<string, unknown>) => maskDeep(fields) as Record<string, unknown>;
  if (!options.interactive) {
    return {
      log: (event, fields) => logger.info(clean(fields), event),
      progress: (sync, planned, t) => logger.info({ sync, planned, succeeded: t.succeeded, failed: t.failed, api_calls: t.apiCalls }, 'progress'),
      stop() {},
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  return {
    log(event, fields) {
      if (event === 'run_started') {
        bar?.stop();
        bar = new cliProgress.SingleBar(
          { format: `${String(fields.sync)} [{bar}] {value}/{total} rows | failed {failed} | {duration}s`, hideCursor: true, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Number(fields.planned) || 0, 0, { failed: 0 });
        return;
      }
      if (event === 'run_finished' || event === 'run_failed') {
        bar?.stop();
        bar = null;
      }
      if (event === 'invalid_row' || event === 'run_failed') logger.warn(clean(fields), event);
    },
    progress(_sync, _planned, t: RunTotals) {
      bar?.update(t.succeeded + t.failed + t.aborted, { failed: t.failed });
    },
    stop() {
      bar?.stop();
    },
  };
}

export function formatSummary(report: SyncReport): string {
  const p = report.plan;
  const seconds = (report.duration_ms / 1000).toFixed(2);
  if (report.status === 'planned') {
    return (
      `${report.sync}: plan — ${p.planned} to send (${p.to_insert} insert, ${p.to_update} update, ${p.to_delete} delete); ` +
      `added ${p.added}, changed ${p.changed}, removed ${p.removed}, unchanged ${p.unchanged}, retrying ${p.retrying}, invalid ${p.invalid}` +
      (p.superseded ? `; ${p.superseded} deletes dropped (a write of the run addresses the same record)` : '') +
      (report.delete_guard?.stops ? `\n  delete guard: the run would stop: ${report.delete_guard.reason} (run --allow-deletes to let it through)` : '')
    );
  }
  return (
    `${report.sync}: ${report.status} — planned ${p.planned}, sent ${report.sent}, succeeded ${report.succeeded}, ` +
    `failed ${report.failed}, invalid ${report.invalid}, API calls ${report.api_calls}, ${seconds}s` +
    (report.aborted ? `, aborted ${report.aborted}` : '') +
    (report.error ? `\n  error: ${report.error}` : '')
  );
}
