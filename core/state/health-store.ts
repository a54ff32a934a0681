/**
 * `sync_health`, `events` and `alert_deliveries`: a sync's health row, the event of each change of its
 * state and the notifications that change decided, written in one transaction so no change is seen
 * without its event, and no alert is decided without its delivery row.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { storableText } from './sanitize-text.js';
import type { AlertDeliveriesTable, DeliveryStatus, EventAction, EventsTable, StateTables, SyncHealthTable } from './schema.js';

export type SyncHealth = Selectable<SyncHealthTable>;
export type HealthEvent = Selectable<EventsTable>;
export type AlertDelivery = Selectable<AlertDeliveriesTable>;

/** Sortable by time: base-36 milliseconds, then randomness (as run ids). */
export function newStateId(now: Date): string {
  return `${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function readHealth(db: Kysely<StateTables>, syncName: string): Promise<SyncHealth | undefined> {
  const row = await db.selectFrom('sync_health').selectAll().where('sync_name', '=', syncName).executeTakeFirst();
  return (
    row && { ...row, consecutive_failures: Number(row.consecutive_failures), consecutive_rejections: Number(row.consecutive_rejections) }
  );
}

export async function readAllHealth(db: Kysely<StateTables>): Promise<Map<string, SyncHealth>> {
  const rows = await db.selectFrom('sync_health').selectAll().execute();
  return new Map(
    rows.map((r) => [
      r.sync_name,
      { ...r, consecutive_failures: Number(r.consecutive_failures), consecutive_rejections: Number(r.consecutive_rejections) },
    ]),
  );
}

/** Writes the health row, its event (when the state changed) and the deliveries decided, at once. */
export async function saveHealth(
  db: Kysely<StateTables>,
  health: SyncHealth,
  event: HealthEvent | null,
  deliveries: AlertDelivery[],
): Promise<void> {
  const row = { ...health, reason: health.reason === null ? null : storableText(health.reason) };
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('sync_health')
      .values(row)
      .onConflict((oc) =>
        oc.column('sync_name').doUpdateSet({
          state: row.state,
          since: row.since,
          reason: row.reason,
          consecutive_failures: row.consecutive_failures,
          consecutive_rejections: row.consecutive_rejections,
          last_run_id: row.last_run_id,
          paused_by: row.paused_by,
          alert: row.alert,
          alerted_at: row.alerted_at,
          updated_at: row.updated_at,
        }),
      )
      .execute();
    if (event)
      await trx
        .insertInto('events')
        .values({ ...event, reason: event.reason === null ? null : storableText(event.reason) })
        .execute();
    if (deliveries.length > 0) await trx.insertInto('alert_deliveries').values(deliveries).execute();
  });
}

/** How a delivery ended (or how far it got): its attempts and last error, secrets already masked. */
export async function finishDelivery(
  db: Kysely<StateTables>,
  deliveryId: string,
  status: DeliveryStatus,
  attempts: number,
  lastError: string | null,
  at: Date,
): Promise<void> {
  await db
    .updateTable('alert_deliveries')
    .set({
      status,
      attempts,
      last_error: lastError === null ? null : storableText(lastError),
      finished_at: status === 'pending' ? null : at.toISOString(),
    })
    .where('delivery_id', '=', deliveryId)
    .execute();
}

/**
 * Records an action of a person that changes no health state (run now, retry, unblock) as a row of
 * `events`, from and to the sync's state now; pause and resume are health changes carrying their action.
 */
export async function recordAction(
  db: Kysely<StateTables>,
  action: { sync: string; action: EventAction; reason: string; at: Date; runId?: string | null },
): Promise<void> {
  const health = await readHealth(db, action.sync);
  const state = health?.state ?? 'healthy';
  await db
    .insertInto('events')
    .values({
      event_id: newStateId(action.at),
      at: action.at.toISOString(),
      sync_name: action.sync,
      from_state: state,
      to_state: state,
      reason: storableText(action.reason),
      run_id: action.runId ?? null,
      action: action.action,
    })
    .execute();
}
