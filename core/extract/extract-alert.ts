/**
 * The one alert an extract raises: healing gave up and the extract is paused (`paused_by_policy`).
 * It goes to every channel of the project through the alert machinery (core/alert), recorded in
 * `alert_deliveries` under `sync_name` `extract:<name>` so the dashboard and `query` see it.
 */
import type { OutgoingAlert } from '../alert/dispatcher.js';
import type { ProjectConfig } from '../config/types.js';
import type { StateStore } from '../state/state-store.js';
import { prepareDelivery } from '../run/health.js';

export const extractAlertName = (extract: string) => `extract:${extract}`;

export async function pausedAlerts(
  project: ProjectConfig,
  store: StateStore,
  extract: string,
  runId: string,
  reason: string,
  now: Date,
): Promise<OutgoingAlert[]> {
  if (!project.alerts.triggers.paused_by_policy) return [];
  const outgoing: OutgoingAlert[] = [];
  for (const channel of Object.values(project.alerts.channels)) {
    const { row, outgoing: alert } = prepareDelivery(project, channel, project.alerts.retry, null, now, {
      kind: 'alert',
      trigger: 'paused_by_policy',
      sync: extractAlertName(extract),
      state: 'paused',
      previous_state: 'healthy',
      since: now.toISOString(),
      reason,
      run_id: runId,
      consecutive_failed_runs: 0,
      consecutive_runs_with_rejected_rows: 0,
      errors: [],
      at: now.toISOString(),
    });
    await store.db.insertInto('alert_deliveries').values(row).execute();
    outgoing.push(alert);
  }
  return outgoing;
}
