/** A run's failed rows by failure class, read back from what its commits wrote to `failed_rows`. */
import type { StateStore } from '../state/state-store.js';
import type { FailedByClass } from './sync-report.js';

/**
 * A row the run failed holds the run's id in `failed_rows` (the commit sets it on every failure), so
 * this counts exactly the committed failures of the run; one indexed query per run.
 */
export async function failedByClass(store: StateStore, syncName: string, runId: string): Promise<FailedByClass> {
  const rows = await store.db
    .selectFrom('failed_rows')
    .select((eb) => ['error_class', eb.fn.countAll().as('n')])
    .where('sync_name', '=', syncName)
    .where('run_id', '=', runId)
    .groupBy('error_class')
    .orderBy('error_class')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.error_class, Number(r.n)]));
}
