/**
 * `pause` and `resume`: a paused sync does not run (`run`, `run --all` and the scheduler skip it with
 * a message) until it is resumed; a resumed sync is `healthy` again with its counters at zero, and its
 * next run judges it afresh.
 */
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import { readHealth } from '../state/health-store.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import type { PausedBy } from '../state/schema.js';
import type { RunListener } from './events.js';
import { setPaused } from './health.js';

/** The one line a skipped run shows, or null when the sync is not paused. */
export async function pausedMessage(store: StateStore, syncName: string): Promise<string | null> {
  const health = await readHealth(store.db, syncName);
  if (health?.state !== 'paused') return null;
  const who = health.paused_by === 'policy' ? 'by a policy' : 'by hand';
  return `sync ${syncName} is paused (${who} since ${health.since}${health.reason ? `: ${health.reason}` : ''}); skipped. Resume it with: hightouch-like resume ${syncName}`;
}

export interface PauseRequest {
  project: ProjectConfig;
  sync: SyncConfig;
  /** null resumes. */
  pause: { by: PausedBy; reason: string } | null;
  alerts: AlertDispatcher;
  emit: RunListener;
  now: Date;
  /** The service's open store; otherwise the state store is opened for the change. */
  store?: StateStore;
}

/** Pauses or resumes one sync; false when it already was in that state. */
export async function changePause(request: PauseRequest): Promise<boolean> {
  const { project, sync } = request;
  const store = request.store ?? (await openStateStore(project, { readOnly: false }));
  try {
    const { outgoing, changed, previous } = await setPaused(project, store, sync, request.pause, request.now);
    if (changed) {
      const to = request.pause ? 'paused' : 'healthy';
      request.emit({
        type: 'health_changed',
        sync: sync.name,
        from: previous?.state ?? 'healthy',
        to,
        reason: request.pause?.reason ?? 'resumed',
        run_id: null,
      });
    }
    request.alerts.dispatch(outgoing, request.emit);
    return changed;
  } finally {
    if (!request.store) await store.close();
  }
}
