/**
 * What `GET /metrics` shows, in Prometheus text format (prom-client), on a registry of the service's
 * own so nothing else of the process leaks in. Names start with `hightouch_like_`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncReport } from '../run/sync-report.js';
import type { SchedulerEvent } from '../schedule/scheduler-event.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({
    name: 'hightouch_like_runs_total',
    help: 'Runs ended, by sync and status.',
    labelNames: ['sync', 'status'],
    registers: [this.registry],
  });
  private readonly rows = new Counter({
    name: 'hightouch_like_rows_total',
    help: 'Rows handled by runs, by sync and outcome (succeeded, failed, invalid, aborted).',
    labelNames: ['sync', 'outcome'],
    registers: [this.registry],
  });
  private readonly apiCalls = new Counter({
    name: 'hightouch_like_api_calls_total',
    help: 'Write calls to destinations, retries and splits included.',
    labelNames: ['sync'],
    registers: [this.registry],
  });
  // From a few seconds (a small change set) to an hour (a full resync of millions of rows).
  private readonly duration = new Histogram({
    name: 'hightouch_like_run_duration_seconds',
    help: 'Run durations, by sync.',
    labelNames: ['sync'],
    buckets: [1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly queued = new Counter({
    name: 'hightouch_like_triggers_queued_total',
    help: 'Triggers (slots or manual) that came while the sync ran or waited: queued as its one follow-up, or coalesced into it.',
    labelNames: ['sync', 'outcome'],
    registers: [this.registry],
  });
  private readonly running = new Gauge({ name: 'hightouch_like_runs_in_progress', help: 'Runs going on now.', registers: [this.registry] });

  constructor(failedRows: () => Promise<Record<string, number>>, syncs: string[]) {
    new Gauge({
      name: 'hightouch_like_failed_rows',
      help: 'Rows in the failed-row index now, by sync.',
      labelNames: ['sync'],
      registers: [this.registry],
      async collect() {
        const counts = await failedRows();
        for (const sync of syncs) this.set({ sync }, counts[sync] ?? 0);
      },
    });
    this.running.set(0);
  }

  onSchedulerEvent(event: SchedulerEvent): void {
    if (event.type === 'started') this.running.inc();
    if (event.type === 'finished') this.running.dec();
    if (event.type === 'queued' || event.type === 'coalesced') this.queued.inc({ sync: event.sync, outcome: event.type });
  }

  onReport(report: SyncReport): void {
    const sync = report.sync;
    this.runs.inc({ sync, status: report.status });
    this.rows.inc({ sync, outcome: 'succeeded' }, report.succeeded);
    this.rows.inc({ sync, outcome: 'failed' }, report.failed);
    this.rows.inc({ sync, outcome: 'invalid' }, report.invalid);
    this.rows.inc({ sync, outcome: 'aborted' }, report.aborted);
    this.apiCalls.inc({ sync }, report.api_calls);
    this.duration.observe({ sync }, report.duration_ms / 1000);
  }

  /** A run that could not start (preflight, state store): counted failed, with its time. */
  onRefused(sync: string, durationMs: number): void {
    this.runs.inc({ sync, status: 'failed' });
    this.duration.observe({ sync }, durationMs / 1000);
  }
}
