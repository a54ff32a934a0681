/**
 * The `schedule:` key of a sync file, parsed once at load time so a bad expression stops `validate`
 * instead of a scheduler hours later:
 *
 *   schedule: manual                                          (the default) only `run` starts it
 *   schedule: { every: 15m }                                  slots at k·15m since the Unix epoch, UTC
 *   schedule: { cron: "0 * * * *", timezone: Europe/Paris }   5 fields, read in the zone (default UTC)
 *
 * A plain string is read as shorthand when it can only mean one thing: `manual`, an interval (`15m`)
 * or a 5-field cron expression (in UTC).
 */
import { Cron } from 'croner';
import { UserError } from '../../shared/errors.js';
import { closest } from './did-you-mean.js';
import type { YamlPath } from './yaml-source.js';

export type Schedule =
  | { kind: 'manual' }
  /** `every` as written (`1h30m`), `interval_ms` what it means. */
  | { kind: 'every'; every: string; interval_ms: number }
  /** `timezone` is the IANA name as the runtime spells it (`utc` → `UTC`). */
  | { kind: 'cron'; cron: string; timezone: string };

export const MANUAL: Schedule = { kind: 'manual' };

/**
 * Shortest interval: a run spends seconds on preflight and locking before it sends a row, and cron
 * itself counts in minutes, so anything under 60 s is more likely a typo (`15s` for `15m`) than a need.
 */
export const MIN_INTERVAL_MS = 60_000;

/** Longest interval: past a year a cron expression says it better, and 10^8 days would overflow a Date. */
export const MAX_INTERVAL_MS = 365 * 86_400_000;

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** Units largest first, each at most once: `1h30m`, `90s`, `2d`. */
const INTERVAL = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds of an interval like `1h30m`, or undefined when the text is not one. */
export function parseInterval(text: string): number | undefined {
  const match = INTERVAL.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, d, h, m, s] = match;
  return Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
}

/**
 * The croner job of a cron schedule: 5 fields, seconds fixed at 0, no year field. `no-wildcard`, as in
 * Vixie cron: only a `*` or a step in the minute or hour field makes a job follow real time through a DST
 * change; croner's default would also count `30 2,14 * * *` so, skipping its 02:30 run on the spring day.
 */
export function cronJob(cron: string, timezone: string): Cron {
  return new Cron(cron, { mode: '5-part', timezone, fixedTimeRule: 'no-wildcard' });
}

/** The runtime's spelling of an IANA zone name, or undefined. Offsets (`+02:00`) are not zones: they ignore DST. */
function ianaZone(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** One line for `status` and logs: `manual`, `every 15m`, `0 * * * * Europe/Paris`. */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === 'manual') return 'manual';
  if (schedule.kind === 'every') return `every ${schedule.every}`;
  return `${schedule.cron} ${schedule.timezone}`;
}

interface Where {
  file: string;
  lineOf(path: YamlPath): number;
}

const EXAMPLES = 'write manual, { every: 15m }, or { cron: "0 * * * *", timezone: Europe/Paris }.';

/**
 * The schedule of a sync file's `schedule:` value (already checked by the JSON Schema to be absent, a
 * string, or a mapping of `every`, `cron`, `timezone` strings). Throws a UserError naming the line.
 */
export function parseSchedule(value: unknown, where: Where, key: string[] = ['schedule']): Schedule {
  const fail = (path: string[], problem: string, hint: string) =>
    new UserError(problem, { file: where.file, line: where.lineOf(path), field: path.join('.'), hint });
  if (value === undefined || value === null) return MANUAL;

  if (typeof value === 'string') {
    const text = value.trim();
    if (text === 'manual') return MANUAL;
    if (/\s/.test(text) || text.startsWith('@')) return cron(text, 'UTC', key, fail);
    if (/^\d/.test(text)) return every(text, key, fail);
    throw fail(key, `${JSON.stringify(value)} is not a schedule.`, EXAMPLES);
  }

  const object = value as { every?: string; cron?: string; timezone?: string };
  if (object.every !== undefined && object.cron !== undefined) {
    throw fail(key, 'has both every and cron.', 'keep one of them.');
  }
  if (object.every !== undefined) {
    if (object.timezone !== undefined) {
      throw fail(
        [...key, 'timezone'],
        'applies to cron only: an interval counts from the Unix epoch in UTC.',
        'remove timezone, or use cron.',
      );
    }
    return every(object.every.trim(), [...key, 'every'], fail);
  }
  if (object.cron !== undefined) {
    const zone = object.timezone === undefined ? 'UTC' : ianaZone(object.timezone.trim());
    if (zone === undefined) {
      const suggestion = closest(object.timezone!.trim(), Intl.supportedValuesOf('timeZone'));
      throw fail(
        [...key, 'timezone'],
        `${JSON.stringify(object.timezone)} is not an IANA time zone.`,
        suggestion ? `did you mean "${suggestion}"?` : 'use a name such as Europe/Paris or UTC.',
      );
    }
    return cron(object.cron.trim(), zone, [...key, 'cron'], fail);
  }
  throw fail(key, 'has neither every nor cron.', EXAMPLES);
}

type Fail = (path: string[], problem: string, hint: string) => UserError;

function every(text: string, path: string[], fail: Fail): Schedule {
  const ms = parseInterval(text);
  if (ms === undefined) {
    throw fail(
      path,
      `${JSON.stringify(text)} is not an interval.`,
      'write a number and a unit (s, m, h, d), largest first, e.g. 15m, 90s or 1h30m.',
    );
  }
  if (ms < MIN_INTERVAL_MS) throw fail(path, `${text} is shorter than the minimum of 1m.`, 'use 1m or more.');
  if (ms > MAX_INTERVAL_MS) throw fail(path, `${text} is longer than the maximum of 365d.`, 'use a cron expression for yearly runs.');
  return { kind: 'every', every: text, interval_ms: ms };
}

function cron(text: string, timezone: string, path: string[], fail: Fail): Schedule {
  const fields = text.split(/\s+/).length;
  if (fields !== 5) {
    throw fail(
      path,
      `"${text}" has ${fields} field${fields === 1 ? '' : 's'}; a cron expression has 5 (minute hour day-of-month month day-of-week).`,
      fields === 6 ? 'drop the seconds field: runs start on whole minutes.' : 'write 5 fields, e.g. "0 * * * *" for hourly.',
    );
  }
  let job: Cron;
  try {
    job = cronJob(text, timezone);
  } catch (error) {
    const said = String((error as Error).message)
      .replace(/^CronPattern:\s*/, '')
      .replace(/\.$/, '');
    const reason = said.charAt(0).toLowerCase() + said.slice(1);
    throw fail(path, `"${text}" is not a valid cron expression (${reason}).`, 'fix the expression, e.g. "0 * * * *" for hourly.');
  }
  // `0 0 30 2 *` parses but never comes: a sync that silently never runs is worse than an error.
  if (job.nextRun(new Date(0)) === null) throw fail(path, `"${text}" never matches a date.`, 'fix the day and month fields.');
  return { kind: 'cron', cron: text, timezone };
}
