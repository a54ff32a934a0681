/**
 * What a run asks the org besides its reads and writes: its API usage at the start (GET /limits,
 * `DailyApiRequests`). Shared by the destination and the source.
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
