/**
 * The org's clock: what stamps SystemModstamp, CreatedDate and LastModifiedDate, ages query locators
 * and bounds the replication window. Real time by default; a test sets or advances it instead of
 * waiting. Salesforce keeps date-times to the second (`.000` milliseconds), so stamps are truncated.
 */

export class OrgClock {
  private fixed: number | undefined;

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
    return formatDateTime(this.now());
  }
}

/** `2026-01-01T00:00:00.000+0000`: the REST API's date-time, seconds precision. */
export function formatDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('Z', '+0000');
}

/** A stored date-time (`…+0000`, `…Z` or `±hh:mm`) as epoch milliseconds; NaN when it is not one. */
export function parseDateTime(text: string): number {
  return Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}
