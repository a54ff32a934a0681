/**
 * For self-healing: which mapped fields a fresh describe no longer shows (deleted, or hidden from the
 * integration user), and the types and lengths of those it does.
 */
import { DestinationError } from '../../destination.js';
import { metered, openConnection, type CallMeter } from '../../salesforce/connection.js';
import { classifyRequestError } from '../../salesforce/errors.js';
import { shapeOf, type ObjectShape } from './field-coercion.js';
import type { SalesforceTarget } from './settings.js';

/** Mapped fields a new describe (a new connection: jsforce caches describes per connection) does not list. */
export async function deletedFields(target: SalesforceTarget): Promise<{ deleted: string[]; apiCalls: number; schema: ObjectShape }> {
  const meter: CallMeter = { calls: 0 };
  const conn = await openConnection(target, { transportRetries: true });
  try {
    const described = await metered(meter, () => conn.sobject(target.object).describe());
    const present = new Set(described.fields.map((f) => f.name));
    const schema = shapeOf(described.fields, target.fields);
    return { deleted: target.fields.filter((f) => !present.has(f)), apiCalls: meter.calls, schema };
  } catch (error) {
    throw new DestinationError(classifyRequestError(error, meter.lastStatus, `describe ${target.object}`, target.secrets), meter.calls);
  }
}
