/**
 * Sends notifications in the background, after the run's result and the decision to notify are
 * committed (the `alert_deliveries` row is written `pending` with the health change). Each delivery is
 * tried up to `retry.attempts` times with exponential backoff and full jitter (defaults: 1, 2, 4, 8 s
 * ceilings), then recorded `delivered` or `failed` with its attempts and last error. A failure is
 * logged and recorded, never thrown: it cannot fail or slow a sync's run.
 *
 * `flush(bound)` waits for the deliveries in flight, at most `bound` ms: `run` calls it before it
 * exits; what is still pending then stays `pending` in the table.
 */
import type { AlertChannelConfig, RetryPolicy } from '../config/types.js';
import { oneLine } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';
import { backoffDelay, sleep } from '../execute/backoff.js';
import type { DeliveryStatus } from '../state/schema.js';
import { sendEmail } from './channels/email.js';
import { sendSlack } from './channels/slack.js';
import { sendWebhook } from './channels/webhook.js';
import type { Notification } from './notification.js';

export interface OutgoingAlert {
  channel: AlertChannelConfig;
  notification: Notification;
  retry: RetryPolicy;
  /** Values to mask out of error text (the project's secrets). */
  secrets: string[];
  /** Writes how the delivery ended to `alert_deliveries`. */
  record(status: DeliveryStatus, attempts: number, lastError: string | null): Promise<void>;
}

export interface DeliveryLogEntry {
  type: 'alert_delivered' | 'alert_delivery_retry' | 'alert_delivery_failed' | 'alert_not_recorded';
  sync: string;
  channel: string;
  kind: string;
  trigger: string;
  delivery_id: string;
  attempt: number;
  error?: string;
}

export interface DispatcherOptions {
  /** Waits between attempts; tests pass one that does not wait in real time. */
  sleep?(ms: number): Promise<void>;
  now?(): Date;
}

export async function sendOnce(channel: AlertChannelConfig, notification: Notification, now: Date): Promise<void> {
  if (channel.type === 'webhook') return sendWebhook(channel, notification, now);
  if (channel.type === 'slack') return sendSlack(channel, notification);
  return sendEmail(channel, notification);
}

export class AlertDispatcher {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: DispatcherOptions = {}) {}

  /** Starts delivering; returns at once. */
  dispatch(alerts: OutgoingAlert[], log: (entry: DeliveryLogEntry) => void): void {
    for (const alert of alerts) {
      const delivery = this.deliver(alert, log).catch(() => {});
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  /** Resolves when every delivery in flight has ended, or after `boundMs`; returns how many are still going. */
  async flush(boundMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
      timer.unref();
    });
    try {
      while (this.inFlight.size > 0) {
        const settled = await Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), bound.then(() => false)]);
        if (!settled) break;
      }
    } finally {
      clearTimeout(timer);
    }
    return this.inFlight.size;
  }

  private async deliver(alert: OutgoingAlert, log: (entry: DeliveryLogEntry) => void): Promise<void> {
    const { notification: n, channel, retry } = alert;
    const base = { sync: n.sync, channel: channel.name, kind: n.kind, trigger: n.trigger, delivery_id: n.delivery_id };
    const wait = this.options.sleep ?? sleep;
    const now = this.options.now ?? (() => new Date());
    let lastError: string | null = null;
    let attempt = 0;
    let status: DeliveryStatus = 'failed';
    while (attempt < retry.attempts) {
      attempt++;
      try {
        await sendOnce(channel, n, now());
        status = 'delivered';
        break;
      } catch (error) {
        lastError = redact(oneLine((error as Error)?.message ?? String(error)), alert.secrets);
        if (attempt < retry.attempts) {
          log({ type: 'alert_delivery_retry', ...base, attempt, error: lastError });
          await wait(backoffDelay(attempt - 1, retry.base_delay_ms, retry.max_delay_ms));
        }
      }
    }
    if (status === 'delivered') log({ type: 'alert_delivered', ...base, attempt });
    else log({ type: 'alert_delivery_failed', ...base, attempt, error: lastError ?? 'unknown' });
    try {
      await alert.record(status, attempt, status === 'delivered' ? null : lastError);
    } catch (error) {
      log({
        type: 'alert_not_recorded',
        ...base,
        attempt,
        error: redact(oneLine((error as Error)?.message ?? String(error)), alert.secrets),
      });
    }
  }
}
