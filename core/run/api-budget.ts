/**
 * The API budget of a destination (README "API budget", after HubSpot's and Kentico's Salesforce
 * integrations): before a sync's run, whether it may send at all (a spent daily quota defers it until
 * `exhausted_until`) and whether failed-row retries are held back (more than 75% of the daily limit
 * used, or, with no known limit, more than 5,000 calls in the last 24 hours); after it, the usage the
 * destination reported, the calls made, and when a quota spent mid-run should allow sending again.
 */
import type { ApiUsage, DestinationConnector, Failure, WriteTarget } from '../../connectors/destination.js';
import type { DestinationConfig } from '../config/types.js';
import { callsLastDay, countCalls, readBudget, recordExhausted, recordUsage } from '../state/api-budget.js';
import type { StateStore } from '../state/state-store.js';

export const DEFAULT_HOLD_SHARE = 0.75;
export const DEFAULT_HOLD_CALLS = 5_000;
export const DEFAULT_RESUME_MINUTES = 60;

export interface BudgetVerdict {
  /** The daily quota is spent: nothing is sent before this instant. */
  deferredUntil: Date | null;
  deferReason: string | null;
  /** Why failed-row retries are held back this run; null when they are not. */
  holdReason: string | null;
  maxCalls: number | null;
  /** Calls spent reading the usage (GET /limits). */
  apiCalls: number;
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** Why retries are held back with this usage, or null. */
export function holdReason(destination: DestinationConfig, usage: ApiUsage | null, callsToday: number): string | null {
  const share = destination.api_budget?.hold_retries_above_share ?? DEFAULT_HOLD_SHARE;
  if (usage && usage.limit !== null && usage.limit > 0) {
    const used = usage.used / usage.limit;
    if (used <= share) return null;
    return `API usage ${usage.used} of ${usage.limit} (${percent(used)}) is above ${percent(share)} of the daily limit (api_budget.hold_retries_above_share)`;
  }
  const calls = destination.api_budget?.hold_retries_after_calls ?? DEFAULT_HOLD_CALLS;
  if (callsToday <= calls) return null;
  return `${callsToday} API calls in the last 24 hours is above ${calls} with no known daily limit (api_budget.hold_retries_after_calls)`;
}

function resumeAt(destination: DestinationConfig, now: Date): Date {
  return new Date(now.getTime() + (destination.api_budget?.resume_after_minutes ?? DEFAULT_RESUME_MINUTES) * 60_000);
}

export async function budgetBeforeRun(
  store: StateStore,
  destination: DestinationConfig,
  connector: DestinationConnector,
  target: WriteTarget,
  now: Date,
  /** false (a dry run): read what the state store holds, ask the destination nothing, write nothing. */
  options: { probe: boolean },
): Promise<BudgetVerdict> {
  const maxCalls = destination.api_budget?.max_calls_per_run ?? null;
  const budget = await readBudget(store.db, destination.name);
  if (budget?.exhausted_until && new Date(budget.exhausted_until) > now) {
    return {
      deferredUntil: new Date(budget.exhausted_until),
      deferReason: budget.exhausted_reason,
      holdReason: null,
      maxCalls,
      apiCalls: 0,
    };
  }
  let usage: ApiUsage | null = budget && budget.used !== null ? { used: budget.used, limit: budget.api_limit } : null;
  let apiCalls = 0;
  if (!options.probe) {
    return {
      deferredUntil: null,
      deferReason: null,
      holdReason: holdReason(destination, usage, await callsLastDay(store.db, destination.name, now)),
      maxCalls,
      apiCalls: 0,
    };
  }
  if (connector.apiUsage) {
    try {
      const read = await connector.apiUsage(target);
      if (read) {
        usage = read.usage;
        apiCalls = read.apiCalls;
        await recordUsage(store.db, destination.name, usage, now);
      }
    } catch (error) {
      apiCalls = (error as { apiCalls?: number }).apiCalls ?? 1;
      const failure = (error as { failure?: Failure }).failure;
      if (failure?.errorClass === 'quota') {
        const until = resumeAt(destination, now);
        await countCalls(store.db, destination.name, apiCalls, now);
        await recordExhausted(store.db, destination.name, { until, reason: `${failure.code}: ${failure.message}` }, now);
        return { deferredUntil: until, deferReason: failure.message, holdReason: null, maxCalls, apiCalls };
      }
      // Usage unknown this time: the last one seen (or the call count) decides.
    }
  }
  await countCalls(store.db, destination.name, apiCalls, now);
  if (budget?.exhausted_until) await recordExhausted(store.db, destination.name, null, now);
  const reason = holdReason(destination, usage, await callsLastDay(store.db, destination.name, now));
  return { deferredUntil: null, deferReason: null, holdReason: reason, maxCalls, apiCalls };
}

/** Records what a run spent and saw; a spent quota defers the destination's runs until it should have freed. */
export async function budgetAfterRun(
  store: StateStore,
  destination: DestinationConfig,
  spent: { apiCalls: number; apiUsage: ApiUsage | null; quota: Failure | null },
  now: Date,
): Promise<Date | null> {
  await countCalls(store.db, destination.name, spent.apiCalls, now);
  if (spent.apiUsage) await recordUsage(store.db, destination.name, spent.apiUsage, now);
  if (!spent.quota) return null;
  const until = resumeAt(destination, now);
  await recordExhausted(store.db, destination.name, { until, reason: `${spent.quota.code}: ${spent.quota.message}` }, now);
  return until;
}
