/**
 * What a run asks the org besides writes: its API usage at the start (GET /limits, `DailyApiRequests`),
 * and, for self-healing, which mapped fields a fresh describe no longer shows (deleted, or hidden
 * from the integration user).
 */
import type { ApiUsage } from '../destination.js';
import { DestinationError } from '../destination.js';
import { metered, openConnection, type CallMeter } from './connection.js';
import { classifyRequestError } from './errors.js';
import type { SalesforceCredentials } from './credentials.js';

export async function readOrgUsage(target: SalesforceCredentials): Promise<{ usage: ApiUsage; apiCalls: number }> {
  const meter: CallMeter = { calls: 0 };
  const conn = await openConnection(target, { transportRetries: true });
  try {
    const limits = (await metered(meter, () => conn.limits())) as { DailyApiRequests?: { Max?: number; Remaining?: number } };
    const daily = limits.DailyApiRequests;
    if (daily && Number.isFinite(daily.Max) && Number.isFinite(daily.Remaining)) {
      return { usage: { used: daily.Max! - daily.Remaining!, limit: daily.Max! }, apiCalls: meter.calls };
    }
    const header = conn.limitInfo?.apiUsage;
    return { usage: { used: header?.used ?? 0, limit: header?.limit ?? null }, apiCalls: meter.calls };
  } catch (error) {
    throw new DestinationError(classifyRequestError(error, meter.lastStatus, 'limits', target.secrets), meter.calls);
  }
}

/** Mapped fields a new describe (a new connection: jsforce caches describes per connection) does not list. */
export async function deletedFields(
  target: SalesforceCredentials & { object: string; fields: readonly string[] },
): Promise<{ deleted: string[]; apiCalls: number }> {
  const meter: CallMeter = { calls: 0 };
  const conn = await openConnection(target, { transportRetries: true });
  try {
    const described = await metered(meter, () => conn.sobject(target.object).describe());
    const present = new Set(described.fields.map((f) => f.name));
    return { deleted: target.fields.filter((f) => !present.has(f)), apiCalls: meter.calls };
  } catch (error) {
    throw new DestinationError(classifyRequestError(error, meter.lastStatus, `describe ${target.object}`, target.secrets), meter.calls);
  }
}
