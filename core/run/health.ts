/**
 * A sync's health, kept in `sync_health` and moved by each run's result:
 *
 * - `failing`: the last run failed; `credentials_required`: it failed because the destination refused
 *   the credentials (failure class `auth`); its unsent rows are aborted, never counted as rejected;
 * - `warning`: the last run completed, but the rows the destination rejected exceed `rejected_share`
 *   (default 75%) of the rows it sent;
 * - `healthy`: otherwise; `paused`: by `pause` or a policy, until `resume` (no run starts meanwhile);
 * - a cancelled run changes nothing.
 *
 * Every change of state is an event; each change is judged against the alert triggers (core/alert)
 * and the notifications it decides are written `pending` in the same transaction, then sent by the
 * dispatcher once that is committed.
 */
import type { AlertChannelConfig, ProjectConfig, RetryPolicy, SyncConfig } from '../config/types.js';
import { alertPolicy, DEFAULT_TRIGGERS } from '../config/alerts.js';
import type { OutgoingAlert } from '../alert/dispatcher.js';
import { maskNotification, type ErrorCount, type Notification } from '../alert/notification.js';
import { decideAlert } from '../alert/triggers.js';
import { getConnector } from '../../connectors/registry.js';
import {
  finishDelivery,
  newStateId,
  readHealth,
  saveHealth,
  type AlertDelivery,
  type HealthEvent,
  type SyncHealth,
} from '../state/health-store.js';
import type { EventAction, HealthState, PausedBy } from '../state/schema.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import type { SyncReport } from './sync-report.js';

/** Error codes a notification lists, most frequent first. */
const TOP_ERRORS = 5;

export function initialHealth(syncName: string, now: Date): SyncHealth {
  const at = now.toISOString();
  return {
    sync_name: syncName,
    state: 'healthy',
    since: at,
    reason: null,
    consecutive_failures: 0,
    consecutive_rejections: 0,
    last_run_id: null,
    paused_by: null,
    alert: null,
    alerted_at: null,
    updated_at: at,
  };
}

/** The health after a run, counters included; `reason` says why in one line. */
export function healthAfterRun(previous: SyncHealth, report: SyncReport, rejectedShare: number, now: Date): SyncHealth {
  const at = now.toISOString();
  const next: SyncHealth = { ...previous, last_run_id: report.run_id, updated_at: at };
  if (report.status === 'cancelled' || report.status === 'planned' || report.status === 'running') return next;
  let state: HealthState;
  if (report.status === 'failed') {
    next.consecutive_failures++;
    state = report.error_class === 'auth' ? 'credentials_required' : 'failing';
    next.reason = report.error;
  } else {
    next.consecutive_failures = 0;
    next.consecutive_rejections = report.failed > 0 ? next.consecutive_rejections + 1 : 0;
    const share = report.sent > 0 ? report.failed / report.sent : 0;
    state = report.failed > 0 && share > rejectedShare ? 'warning' : 'healthy';
    next.reason =
      report.failed > 0
        ? `${report.failed} of ${report.sent} rows sent were rejected (${(share * 100).toFixed(1)}%)`
        : 'the last run succeeded';
  }
  // A paused sync stays paused whatever a run that was already going says.
  if (previous.state === 'paused') return next;
  if (state !== previous.state) {
    next.state = state;
    next.since = at;
  }
  return next;
}

/** What a change of health needs besides the row: an event, and the alerts it decides. */
export interface HealthChange {
  sync: SyncConfig;
  previous: SyncHealth | undefined;
  next: SyncHealth;
  runId: string | null;
  /** The run's error codes for a notification; read only when one is sent. */
  errors: () => Promise<ErrorCount[]>;
  /** The person's action behind the change (pause, resume); none for a run's. */
  action?: EventAction;
}

/**
 * Records `next` (with its event when the state changed) and the notifications it decides, in one
 * transaction, and returns them ready for the dispatcher.
 */
export async function recordHealth(project: ProjectConfig, store: StateStore, change: HealthChange, now: Date): Promise<OutgoingAlert[]> {
  const { sync, previous, runId } = change;
  const policy = alertPolicy(project.alerts, sync.alerts);
  const decision = decideAlert(previous ?? { alert: null, alerted_at: null }, change.next, policy.triggers, policy.reminderMs, now);
  const next: SyncHealth = { ...change.next, alert: decision.alert, alerted_at: decision.alertedAt };
  const event: HealthEvent | null =
    previous?.state === next.state
      ? null
      : {
          event_id: newStateId(now),
          at: now.toISOString(),
          sync_name: sync.name,
          from_state: previous?.state ?? null,
          to_state: next.state,
          reason: next.reason,
          run_id: runId,
          kind: null,
          action: change.action ?? null,
        };
  const outgoing: OutgoingAlert[] = [];
  const deliveries: AlertDelivery[] = [];
  if (decision.send && policy.channels.length > 0) {
    const errors = decision.send.kind === 'recovery' ? [] : await change.errors();
    for (const channel of policy.channels) {
      const prepared = prepareDelivery(project, channel, policy.retry, event?.event_id ?? null, now, {
        kind: decision.send.kind,
        trigger: decision.send.trigger,
        sync: sync.name,
        state: next.state,
        previous_state: previous?.state ?? null,
        since: next.since,
        reason: next.reason,
        run_id: runId,
        consecutive_failed_runs: next.consecutive_failures,
        consecutive_runs_with_rejected_rows: next.consecutive_rejections,
        errors,
        at: now.toISOString(),
      });
      deliveries.push(prepared.row);
      outgoing.push(prepared.outgoing);
    }
  }
  await saveHealth(store.db, next, event, deliveries);
  return outgoing;
}

/**
 * One notification to one channel: masked with the project's secrets, its `alert_deliveries` row
 * (`pending`, for the caller to write), and what the dispatcher sends, which records how it ended.
 */
export function prepareDelivery(
  project: ProjectConfig,
  channel: AlertChannelConfig,
  retry: RetryPolicy,
  eventId: string | null,
  now: Date,
  content: Omit<Notification, 'delivery_id'>,
): { row: AlertDelivery; outgoing: OutgoingAlert } {
  const deliveryId = newStateId(now);
  const notification = maskNotification({ delivery_id: deliveryId, ...content }, project.secrets);
  const row: AlertDelivery = {
    delivery_id: deliveryId,
    event_id: eventId,
    sync_name: content.sync,
    channel: channel.name,
    channel_type: channel.type,
    kind: notification.kind,
    trigger: notification.trigger,
    state: notification.state,
    run_id: notification.run_id,
    status: 'pending',
    attempts: 0,
    last_error: null,
    created_at: now.toISOString(),
    finished_at: null,
  };
  const outgoing: OutgoingAlert = {
    channel,
    notification,
    retry,
    secrets: project.secrets,
    record: (status, attempts, lastError) => recordDelivery(project, deliveryId, status, attempts, lastError),
  };
  return { row, outgoing };
}

/** Deliveries of the process record one after the other: two opens of one DuckDB file at once would race. */
let recording: Promise<unknown> = Promise.resolve();

/**
 * A delivery ends after the run's state store may have closed: the store is opened again for the one
 * update (in `serve` and within one process a DuckDB file's instance is shared, see duckdb-instances.ts).
 */
export function recordDelivery(
  project: ProjectConfig,
  deliveryId: string,
  ...rest: [Parameters<typeof finishDelivery>[2], number, string | null]
): Promise<void> {
  const done = recording.then(async () => {
    const store = await openStateStore(project, { readOnly: false });
    try {
      await finishDelivery(store.db, deliveryId, ...rest, new Date());
    } finally {
      await store.close();
    }
  });
  recording = done.catch(() => {});
  return done;
}

/** The health change a finished run makes, or null for a dry run. */
export async function healthOfRun(
  project: ProjectConfig,
  store: StateStore,
  sync: SyncConfig,
  report: SyncReport,
  now: Date,
): Promise<HealthChange | null> {
  if (report.status === 'planned' || report.run_id === null) return null;
  const previous = await readHealth(store.db, sync.name);
  const policy = alertPolicy(project.alerts, sync.alerts);
  const share = policy.triggers.rejected_share === false ? (DEFAULT_TRIGGERS.rejected_share as number) : policy.triggers.rejected_share;
  const next = healthAfterRun(previous ?? initialHealth(sync.name, now), report, share, now);
  return { sync, previous, next, runId: report.run_id, errors: () => runErrors(project, store, sync, report) };
}

/**
 * The run's error codes: the rows it failed, by code (from `failed_rows`), and the failure that stopped
 * it; each with the connector's remediation sentence when its catalogue has the code.
 */
async function runErrors(project: ProjectConfig, store: StateStore, sync: SyncConfig, report: SyncReport): Promise<ErrorCount[]> {
  const catalogue = getConnector(project.destinations[sync.destination]?.type ?? '')?.catalogue ?? {};
  const remediation = (code: string) => (Object.hasOwn(catalogue, code) ? catalogue[code].remediation : null);
  const rows = await store.db
    .selectFrom('failed_rows')
    .select((eb) => ['error_code', eb.fn.countAll().as('n')])
    .where('sync_name', '=', sync.name)
    .where('run_id', '=', report.run_id!)
    .groupBy('error_code')
    .orderBy('n', 'desc')
    .orderBy('error_code')
    .limit(TOP_ERRORS)
    .execute();
  const errors: ErrorCount[] = rows.map((r) => ({ code: r.error_code, count: Number(r.n), remediation: remediation(r.error_code) }));
  if (report.error_code && !errors.some((e) => e.code === report.error_code)) {
    errors.unshift({ code: report.error_code, count: 1, remediation: remediation(report.error_code) });
  }
  return errors.slice(0, TOP_ERRORS);
}

/** `pause`/`resume` and a policy's pause: the state set by hand, with its event and alerts. */
export async function setPaused(
  project: ProjectConfig,
  store: StateStore,
  sync: SyncConfig,
  paused: { by: PausedBy; reason: string } | null,
  now: Date,
): Promise<{ outgoing: OutgoingAlert[]; changed: boolean; previous: SyncHealth | undefined }> {
  const previous = await readHealth(store.db, sync.name);
  const base = previous ?? initialHealth(sync.name, now);
  const at = now.toISOString();
  if (paused === null && base.state !== 'paused') return { outgoing: [], changed: false, previous };
  if (paused !== null && base.state === 'paused') return { outgoing: [], changed: false, previous };
  const next: SyncHealth =
    paused === null
      ? {
          ...base,
          state: 'healthy',
          since: at,
          reason: 'resumed',
          paused_by: null,
          consecutive_failures: 0,
          consecutive_rejections: 0,
          updated_at: at,
        }
      : { ...base, state: 'paused', since: at, reason: paused.reason, paused_by: paused.by, updated_at: at };
  const action = paused === null ? 'resume' : paused.by === 'person' ? 'pause' : undefined;
  const outgoing = await recordHealth(project, store, { sync, previous, next, runId: null, errors: async () => [], action }, now);
  return { outgoing, changed: true, previous };
}
