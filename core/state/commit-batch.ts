/**
 * The per-batch commit, the heart of "acknowledged means synced": in one transaction, the snapshot
 * takes the acknowledged rows, the changelog records every attempted row, the failed-row index drops
 * the rows that succeeded and records those that failed, and the run's counters move.
 * A row's snapshot entry changes only here, only after the destination said yes.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Failure } from '../../connectors/destination.js';
import type { DeliveredRow } from '../execute/deliver-batch.js';
import type { PlannedRow } from '../plan/planner.js';
import { addRunProgress } from './run-log.js';
import type { StateTables } from './schema.js';
import { recordFailures, removeFailures } from './failed-row-index.js';

export interface BatchOutcome {
  /** The write operation of the batch; each planned row keeps its own op for the logs. */
  op: PlannedRow['op'];
  planned: PlannedRow[];
  delivered: DeliveredRow[];
  apiCalls: number;
}

/** Rows per statement: keeps parameter counts far below both databases' limits. */
const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function commitBatches(
  db: Kysely<StateTables>,
  runId: string,
  syncName: string,
  outcomes: BatchOutcome[],
  redactText: (text: string) => string,
): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction().execute(async (trx) => {
    let succeeded = 0;
    let failed = 0;
    let apiCalls = 0;
    for (const outcome of outcomes) {
      apiCalls += outcome.apiCalls;
      const plannedByKey = new Map(outcome.planned.map((p) => [p.pk, p]));
      const acked = outcome.delivered.filter((d) => d.status === 'succeeded');
      const failures = outcome.delivered.filter((d): d is Extract<DeliveredRow, { status: 'failed' }> => d.status === 'failed');
      succeeded += acked.length;
      failed += failures.length;

      if (outcome.op === 'delete') {
        for (const part of chunks(acked.map((a) => a.key))) {
          await trx.deleteFrom('sync_snapshots').where('sync_name', '=', syncName).where('primary_key', 'in', part).execute();
        }
      } else {
        for (const part of chunks(acked)) {
          await upsertSnapshot(trx, syncName, runId, now, part.map((a) => ({
            key: a.key,
            hash: plannedByKey.get(a.key)!.row_hash!,
            destinationId: a.status === 'succeeded' ? a.destinationId : null,
          })));
        }
      }
      await removeFailures(trx, syncName, acked.map((a) => a.key));
      // Acknowledged: the snapshot now knows these keys (or, for deletes, they are gone).
      for (const part of chunks(acked.map((a) => a.key))) {
        await trx.deleteFrom('sync_pending').where('sync_name', '=', syncName).where('primary_key', 'in', part).execute();
      }
      await recordFailures(
        trx,
        syncName,
        runId,
        now,
        failures.map((f) => ({
          key: f.key,
          op: plannedByKey.get(f.key)!.op,
          sends: f.sends,
          failure: { ...f.failure, message: redactText(f.failure.message) },
        })),
      );
      await appendChangelog(trx, runId, syncName, plannedByKey, now, outcome.delivered, redactText);
    }
    await addRunProgress(trx, runId, { succeeded, failed, apiCalls });
  });
}

async function upsertSnapshot(
  trx: Transaction<StateTables>,
  syncName: string,
  runId: string,
  now: string,
  rows: Array<{ key: string; hash: string; destinationId: string | null }>,
) {
  if (!rows.length) return;
  await trx
    .insertInto('sync_snapshots')
    .values(rows.map((r) => ({ sync_name: syncName, primary_key: r.key, row_hash: r.hash, destination_id: r.destinationId, synced_at: now, run_id: runId })))
    .onConflict((oc) =>
      oc.columns(['sync_name', 'primary_key']).doUpdateSet({
        row_hash: sql`excluded.row_hash`,
        destination_id: sql`excluded.destination_id`,
        synced_at: sql`excluded.synced_at`,
        run_id: sql`excluded.run_id`,
      }),
    )
    .execute();
}

async function appendChangelog(
  trx: Transaction<StateTables>,
  runId: string,
  syncName: string,
  planned: Map<string, PlannedRow>,
  now: string,
  delivered: DeliveredRow[],
  redactText: (text: string) => string,
) {
  for (const part of chunks(delivered)) {
    await trx
      .insertInto('sync_changelog')
      .values(
        part.map((d) => {
          const failure: Failure | undefined = d.status === 'succeeded' ? undefined : d.failure;
          return {
            run_id: runId,
            sync_name: syncName,
            primary_key: d.key,
            op: planned.get(d.key)!.op,
            status: d.status,
            error_code: failure?.code ?? null,
            error_message: failure ? redactText(failure.message) : null,
            at: now,
          };
        }),
      )
      .execute();
  }
}
