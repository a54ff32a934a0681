/**
 * Which notification a change of health sends: one when a trigger starts firing (or a stronger one
 * takes over), a reminder when the same one still fires after the reminder interval, and a recovery
 * notice when the sync is healthy again after an alert. Never one per run.
 */
import type { AlertTriggers } from '../config/types.js';
import type { SyncHealthTable } from '../state/schema.js';
import type { NotificationKind } from './notification.js';

/** The trigger the health row fires now, or null. */
export function firingTrigger(
  health: Pick<SyncHealthTable, 'state' | 'consecutive_failures' | 'paused_by'>,
  triggers: AlertTriggers,
): string | null {
  switch (health.state) {
    case 'credentials_required':
      return triggers.credentials_required ? 'credentials_required' : null;
    case 'paused':
      return health.paused_by === 'policy' && triggers.paused_by_policy ? 'paused_by_policy' : null;
    case 'failing':
      if (triggers.consecutive_failures !== false && health.consecutive_failures >= triggers.consecutive_failures)
        return 'consecutive_failures';
      return triggers.run_failed ? 'run_failed' : null;
    case 'warning':
      return triggers.rejected_share !== false ? 'rejected_share' : null;
    default:
      return null;
  }
}

export interface AlertDecision {
  /** What to send now, if anything. */
  send: { kind: NotificationKind; trigger: string } | null;
  /** The open alert after this decision, and when it was last sent. */
  alert: string | null;
  alertedAt: string | null;
}

export function decideAlert(
  open: { alert: string | null; alerted_at: string | null },
  health: Pick<SyncHealthTable, 'state' | 'consecutive_failures' | 'paused_by'>,
  triggers: AlertTriggers,
  reminderMs: number | null,
  now: Date,
): AlertDecision {
  const firing = firingTrigger(health, triggers);
  const at = now.toISOString();
  if (firing !== null && firing !== open.alert) return { send: { kind: 'alert', trigger: firing }, alert: firing, alertedAt: at };
  if (
    firing !== null &&
    reminderMs !== null &&
    open.alerted_at !== null &&
    now.getTime() - new Date(open.alerted_at).getTime() >= reminderMs
  )
    return { send: { kind: 'reminder', trigger: firing }, alert: firing, alertedAt: at };
  if (health.state === 'healthy' && open.alert !== null) {
    return { send: triggers.recovery ? { kind: 'recovery', trigger: open.alert } : null, alert: null, alertedAt: null };
  }
  return { send: null, alert: open.alert, alertedAt: open.alerted_at };
}
