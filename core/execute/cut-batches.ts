/**
 * Cuts a page of the plan into batches: one operation per batch, at most `size` rows, in plan order.
 */
import type { RowOp } from '../../connectors/destination.js';
import type { SyncMode } from '../config/types.js';
import type { PlannedRow } from '../state/plan-table.js';

/**
 * The op a batch travels as; rows share a batch only if they travel as the same op. Under upsert and
 * mirror an insert and an update are the same call, so both travel as `update`; deletes always travel
 * alone, and so do inserts and updates under the modes that tell them apart. The connector then turns
 * it into the `WriteOperation` the destination is asked for (`writeOperation`, connectors/destination.ts).
 */
export function batchOp(mode: SyncMode, op: PlannedRow['op']): RowOp {
  return op !== 'delete' && (mode === 'upsert' || mode === 'mirror') ? 'update' : op;
}

export function* cutBatches(page: PlannedRow[], size: number, mode: SyncMode): Generator<PlannedRow[]> {
  let batch: PlannedRow[] = [];
  for (const row of page) {
    if (batch.length && (batch.length >= size || batchOp(mode, batch[0].op) !== batchOp(mode, row.op))) {
      yield batch;
      batch = [];
    }
    batch.push(row);
  }
  if (batch.length) yield batch;
}
