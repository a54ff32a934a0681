/**
 * `webhook`: the notification as a JSON body, POSTed, signed so the receiver can tell it came from us
 * and is not a replay:
 *
 *   X-Hightouch-Like-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * as Stripe does. The receiver recomputes the HMAC over the raw body and refuses a `t` older than a few
 * minutes (README "Health and alerts" has the check in a few lines).
 */
import { createHmac } from 'node:crypto';
import type { Notification } from '../notification.js';
import { postJson } from './post-json.js';

export const SIGNATURE_HEADER = 'x-hightouch-like-signature';

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export async function sendWebhook(channel: { url: string; secret: string }, notification: Notification, now: Date): Promise<void> {
  const body = JSON.stringify(notification);
  const timestamp = Math.floor(now.getTime() / 1000);
  await postJson(channel.url, body, { [SIGNATURE_HEADER]: signature(channel.secret, timestamp, body) });
}
