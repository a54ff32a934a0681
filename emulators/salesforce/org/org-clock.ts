/**
 * The org's clock: what stamps SystemModstamp, CreatedDate and LastModifiedDate, ages query locators
 * and bounds the replication window. Real time by default; a test sets or advances it instead of
 * waiting. Salesforce keeps date-times to the second (`.000` milliseconds), so stamps are truncated.
 */

export class OrgClock {
  private fixed: number | undefined;
  /** The last stamp and its second: seeding 100,000 records formats one date per second, not per record. */
  private lastSecond = Number.NaN;
  private lastStamp = '';

  /** Milliseconds since the epoch, as the org sees it now. */
  now(): number {
    return this.fixed ?? Date.now();
  }

  /** Stops the clock at `at` (a Date, epoch milliseconds or ISO text); it moves only by `advance`. */
  set(at: Date | number | string): void {
    const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
    if (Number.isNaN(ms)) throw new Error(`not a date-time: ${String(at)}`);
    this.fixed = ms;
  }

  /** Moves the clock on by `ms` (it is stopped at the current time first, if it was running). */
  advance(ms: number): void {
    this.fixed = this.now() + ms;
  }

  /** Follows real time again. */
  useRealTime(): void {
    this.fixed = undefined;
  }

  /** Now as Salesforce writes a date-time in JSON: `2026-01-01T00:00:00.000+0000`, to the second. */
  stamp(): string {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastStamp = formatDateTime(second * 1000);
    }
    return this.lastStamp;
  }
}

/** `2026-01-01T00:00:00.000+0000`: the REST API's date-time, seconds precision. */
export function formatDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('Z', '+0000');
}

/** Parsed date-times by text: records stamped in the same second share one (a query over 100,000 parses a handful). */
const parsed = new Map<string, number>();
const MAX_CACHED = 100_000;

/** A stored date-time (`…+0000`, `…Z` or `±hh:mm`) as epoch milliseconds; NaN when it is not one. */
export function parseDateTime(text: string): number {
  let ms = parsed.get(text);
  if (ms === undefined) {
    ms = Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
    if (parsed.size >= MAX_CACHED) parsed.clear();
    parsed.set(text, ms);
  }
  return ms;
}
