/**
 * The `events` row self-healing leaves when it drops a deleted field from the payloads (kind
 * `field_dropped`): the sync's health state does not change, so from_state = to_state.
 */
import type { SyncConfig } from '../config/types.js';
import type { HealNotice } from '../execute/schema-healer.js';
import { newStateId, readHealth } from '../state/health-store.js';
import { storableText } from '../state/sanitize-text.js';
import type { StateStore } from '../state/state-store.js';

export async function recordHealEvent(
  store: StateStore,
  sync: SyncConfig,
  runId: string,
  notice: HealNotice,
  message: string,
  now: Date,
): Promise<void> {
  if (notice.deleted.length === 0) return;
  const state = (await readHealth(store.db, sync.name))?.state ?? 'healthy';
  const fields = notice.deleted.join(', ');
  await store.db
    .insertInto('events')
    .values({
      event_id: newStateId(now),
      at: now.toISOString(),
      sync_name: sync.name,
      from_state: state,
      to_state: state,
      kind: 'field_dropped',
      reason: storableText(
        `mapped field ${fields} is gone from the destination (deleted, or hidden from the integration user): left out of the payloads for the rest of the run; the mapping is unchanged (${notice.failure.code}: ${message})`,
      ),
      run_id: runId,
    })
    .execute();
}
