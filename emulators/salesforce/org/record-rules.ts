/**
 * Injected per-record failures ("fail records whose field equals value"), the emulator's stand-in for
 * validation rules, triggers and row locks. Count-based, never random, so every run is identical.
 */
import type { SfRecord } from './sobject-store.js';

/** Fail records whose `field` equals `value` with `statusCode`, `times` times (default: always). */
export interface RecordRule {
  object?: string;
  field: string;
  value: unknown;
  statusCode: string;
  message?: string;
  fields?: string[];
  times?: number;
}

/** The first rule that fires for this record of `object`, its count spent; undefined when none does. */
export function fireRule(rules: RecordRule[], object: string, record: SfRecord): RecordRule | undefined {
  for (const rule of rules) {
    if ((rule.object ?? object) !== object || record[rule.field] !== rule.value || rule.times === 0) continue;
    if (rule.times !== undefined) rule.times--;
    return rule;
  }
  return undefined;
}

export const ruleMessage = (rule: RecordRule) => rule.message ?? `${rule.statusCode} (injected)`;
