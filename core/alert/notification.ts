/**
 * What a notification says, whatever the channel: the sync, its state and why, the counters, and the
 * error codes of the run with their counts and remediation sentences. Built from state rows and the
 * connector's catalogue, then masked (shared/redact.ts): it never carries a secret.
 */
import { redact } from '../../shared/redact.js';
import type { HealthState } from '../state/schema.js';

export type NotificationKind = 'alert' | 'reminder' | 'recovery';

export interface ErrorCount {
  code: string;
  count: number;
  /** The connector's sentence for the code, when its catalogue has one. */
  remediation: string | null;
}

export interface Notification {
  /** Unique per delivery: a receiver can drop a repeat it has seen. */
  delivery_id: string;
  kind: NotificationKind;
  /** The trigger that fired (for a recovery: the one it resolves). */
  trigger: string;
  sync: string;
  state: HealthState;
  previous_state: HealthState | null;
  since: string;
  reason: string | null;
  run_id: string | null;
  consecutive_failed_runs: number;
  consecutive_runs_with_rejected_rows: number;
  /** Top error codes of the run, most frequent first (at most 5). */
  errors: ErrorCount[];
  at: string;
}

/** Every string of the notification masked. */
export function maskNotification(notification: Notification, secrets: string[]): Notification {
  const mask = (text: string) => redact(text, secrets);
  return {
    ...notification,
    trigger: mask(notification.trigger),
    sync: mask(notification.sync),
    reason: notification.reason === null ? null : mask(notification.reason),
    errors: notification.errors.map((e) => ({
      ...e,
      code: mask(e.code),
      remediation: e.remediation === null ? null : mask(e.remediation),
    })),
  };
}

const HEADLINES: Record<string, string> = {
  run_failed: 'a run failed',
  consecutive_failures: 'runs keep failing',
  rejected_share: 'most rows were rejected',
  credentials_required: 'the destination refused the credentials',
  paused_by_policy: 'paused by a policy',
};

/** One line: `sync contacts is failing: runs keep failing (10 failed runs in a row)`. */
export function headline(n: Notification): string {
  if (n.kind === 'recovery') return `sync ${n.sync} recovered: healthy again`;
  const what = HEADLINES[n.trigger] ?? n.trigger;
  const counts: string[] = [];
  if (n.consecutive_failed_runs > 0)
    counts.push(`${n.consecutive_failed_runs} failed run${n.consecutive_failed_runs === 1 ? '' : 's'} in a row`);
  if (n.state === 'warning') counts.push(`${n.consecutive_runs_with_rejected_rows} run(s) in a row with rejected rows`);
  return `${n.kind === 'reminder' ? 'still ' : ''}sync ${n.sync} is ${n.state.replace('_', ' ')}: ${what}${counts.length ? ` (${counts.join(', ')})` : ''}`;
}

/** Plain text for email and Slack: the headline, the reason, then one line per error code. */
export function plainText(n: Notification): string {
  const lines = [headline(n)];
  if (n.reason) lines.push(`Reason: ${n.reason}`);
  lines.push(`Since: ${n.since}${n.run_id ? `; last run: ${n.run_id}` : ''}`);
  if (n.errors.length > 0) {
    lines.push('Top errors:');
    for (const e of n.errors) lines.push(`- ${e.code} × ${e.count}${e.remediation ? `: ${e.remediation}` : ''}`);
  }
  return lines.join('\n');
}
