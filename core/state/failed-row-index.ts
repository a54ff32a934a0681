/**
 * The failed-row index: one row per sync and primary key still failing. It holds policy and the last
 * error only; the row's values are always re-read from the model, never replayed from here.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Failure } from '../../connectors/destination.js';
import type { StateTables } from './schema.js';

type Db = Kysely<StateTables> | Transaction<StateTables>;

export async function removeFailures(db: Db, syncName: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    await db.deleteFrom('failed_rows').where('sync_name', '=', syncName).where('primary_key', 'in', keys.slice(i, i + 500)).execute();
  }
}

/**
 * Upserts failures; attempts accumulate across runs. A failed row is due again on the next run, so
 * `next_retry_at` is the failure time itself.
 */
export async function recordFailures(
  db: Db,
  syncName: string,
  runId: string,
  now: string,
  failures: Array<{ key: string; op: string; sends: number; failure: Failure }>,
): Promise<void> {
  for (let i = 0; i < failures.length; i += 500) {
    const part = failures.slice(i, i + 500);
    await db
      .insertInto('failed_rows')
      .values(
        part.map((f) => ({
          sync_name: syncName,
          primary_key: f.key,
          error_class: f.failure.errorClass,
          error_code: f.failure.code,
          error_message: f.failure.message,
          attempts: Math.max(1, f.sends),
          first_failed_at: now,
          last_failed_at: now,
          next_retry_at: now,
          status: 'retrying' as const,
          run_id: runId,
          op: f.op,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['sync_name', 'primary_key']).doUpdateSet({
          error_class: sql`excluded.error_class`,
          error_code: sql`excluded.error_code`,
          error_message: sql`excluded.error_message`,
          attempts: sql`failed_rows.attempts + excluded.attempts`,
          last_failed_at: sql`excluded.last_failed_at`,
          next_retry_at: sql`excluded.next_retry_at`,
          status: sql`excluded.status`,
          run_id: sql`excluded.run_id`,
          op: sql`excluded.op`,
        }),
      )
      .execute();
  }
}
