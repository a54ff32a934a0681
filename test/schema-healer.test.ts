/**
 * The run's self-healing bookkeeping (core/execute/schema-healer.ts) against a destination connector
 * whose schema look-up fails: a heal that fails, even at once, ends with the failure recorded and no
 * heal left running (a run waits for `settled()` before any further batch leaves).
 */
import { expect, it } from 'vitest';
import type { DestinationConnector, Failure, WriteTarget } from '../connectors/destination.js';
import { SchemaHealer } from '../core/execute/schema-healer.js';
import type { PlannedRow } from '../core/state/plan-table.js';

const target: WriteTarget = {
  destination: { name: 'crm', type: 'throwing', settings: {} },
  sync: { name: 'contacts', mode: 'upsert', keyField: null, fields: ['Phone'], settings: {} },
};
const drift: Failure = { errorClass: 'schema_drift', code: 'SF_INVALID_FIELD', message: 'No such column Phone' };
const row: PlannedRow = { seq: 1, pk: '1', op: 'upsert', payload: '{"Phone":"1"}', row_hash: 'h', destination_id: null, retrying: false };

for (const [how, heal] of [
  [
    'at once',
    () => {
      throw new Error('describe refused');
    },
  ],
  [
    'later',
    async () => {
      throw new Error('describe refused');
    },
  ],
] as const) {
  it(`a heal whose schema look-up throws ${how} settles with the failure recorded`, async () => {
    const connector = { type: 'throwing', heal } as unknown as DestinationConnector;
    const healer = new SchemaHealer(target, connector, async () => {});
    const kept = healer.sort([row], [{ key: '1', status: 'failed', failure: drift, sends: 1 }], 0);
    expect(kept.planned).toEqual([]);
    expect(healer.busy).toBe(true);
    // Looked at after the heal had time to end; `settled()` on a heal left running would spin for ever.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(healer.busy).toBe(false);
    await healer.settled();
    expect(healer.error).toMatchObject({ code: 'HEAL_FAILED', message: 'describe refused' });
  });
}
