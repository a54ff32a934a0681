/**
 * `api_budget` and `api_calls`: per destination, the API usage it last reported, when a spent daily
 * quota should allow sending again, and the calls this tool made per hour (the rolling 24-hour count
 * for destinations that report no limit).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApiUsage } from '../../connectors/destination.js';
import { storableText } from './sanitize-text.js';
import type { ApiBudgetTable, StateTables } from './schema.js';

export type ApiBudgetRow = Selectable<ApiBudgetTable>;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export async function readBudget(db: Kysely<StateTables>, destination: string): Promise<ApiBudgetRow | undefined> {
  const row = await db.selectFrom('api_budget').selectAll().where('destination_name', '=', destination).executeTakeFirst();
  return (
    row && { ...row, used: row.used === null ? null : Number(row.used), api_limit: row.api_limit === null ? null : Number(row.api_limit) }
  );
}

export async function readAllBudgets(db: Kysely<StateTables>): Promise<Map<string, ApiBudgetRow>> {
  const rows = await db.selectFrom('api_budget').selectAll().execute();
  return new Map(
    rows.map((r) => [
      r.destination_name,
      { ...r, used: r.used === null ? null : Number(r.used), api_limit: r.api_limit === null ? null : Number(r.api_limit) },
    ]),
  );
}

/** Upserts the row with `changes`; columns not named keep their value. */
async function saveBudget(db: Kysely<StateTables>, destination: string, changes: Partial<ApiBudgetRow>, now: Date): Promise<void> {
  const at = now.toISOString();
  const existing = await readBudget(db, destination);
  const row: ApiBudgetRow = {
    destination_name: destination,
    used: null,
    api_limit: null,
    observed_at: null,
    exhausted_until: null,
    exhausted_reason: null,
    ...existing,
    ...changes,
    updated_at: at,
  };
  if (existing) await db.updateTable('api_budget').set(row).where('destination_name', '=', destination).execute();
  else await db.insertInto('api_budget').values(row).execute();
}

export function recordUsage(db: Kysely<StateTables>, destination: string, usage: ApiUsage, now: Date): Promise<void> {
  return saveBudget(db, destination, { used: usage.used, api_limit: usage.limit, observed_at: now.toISOString() }, now);
}

/** The daily quota is spent: no run sends to the destination before `until`. Null clears it. */
export function recordExhausted(
  db: Kysely<StateTables>,
  destination: string,
  exhausted: { until: Date; reason: string } | null,
  now: Date,
): Promise<void> {
  return saveBudget(
    db,
    destination,
    exhausted
      ? { exhausted_until: exhausted.until.toISOString(), exhausted_reason: storableText(exhausted.reason) }
      : { exhausted_until: null, exhausted_reason: null },
    now,
  );
}

/** Adds `calls` to the hour of `now`, and forgets hours older than a day. */
export async function countCalls(db: Kysely<StateTables>, destination: string, calls: number, now: Date): Promise<void> {
  if (calls <= 0) return;
  const hour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS).toISOString();
  await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('api_calls')
      .set({ calls: sql`calls + ${calls}` })
      .where('destination_name', '=', destination)
      .where('hour', '=', hour)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0)
      await trx.insertInto('api_calls').values({ destination_name: destination, hour, calls }).execute();
    await trx
      .deleteFrom('api_calls')
      .where('destination_name', '=', destination)
      .where('hour', '<', new Date(now.getTime() - DAY_MS - HOUR_MS).toISOString())
      .execute();
  });
}

/** Calls this tool made to the destination in the 24 hours before `now` (to the hour). */
export async function callsLastDay(db: Kysely<StateTables>, destination: string, now: Date): Promise<number> {
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  const row = await db
    .selectFrom('api_calls')
    .select((eb) => eb.fn.sum<number>('calls').as('n'))
    .where('destination_name', '=', destination)
    .where('hour', '>', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
