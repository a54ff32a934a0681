/**
 * Open query cursors (query locators): the snapshot of a query's rows that `nextRecordsUrl` pages
 * through. Salesforce lets a user hold 10 open cursors and releases the oldest when an 11th opens, and
 * drops a cursor left unused for 15 minutes; either way the locator then answers 400
 * INVALID_QUERY_LOCATOR. Both numbers can be changed by a test; time is the org's clock.
 */
import { RequestError } from '../errors.js';
import type { OrgClock } from './org-clock.js';
import { recordId } from './record-ids.js';
import type { SfRecord } from './sobject-store.js';

/** Query cursors have the key prefix 01g, as in Salesforce's `01gD0000002HU6KIAW-2000`. */
const CURSOR_PREFIX = '01g';

export interface QueryCursor {
  locator: string;
  object: string;
  rows: SfRecord[];
  batchSize: number;
  lastUsed: number;
}

export const invalidQueryLocator = () => new RequestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');

export class QueryCursors {
  /** Open cursors, oldest first. */
  private readonly open = new Map<string, QueryCursor>();
  private sequence = 0;
  /** A cursor unused this long is gone. Default: 15 minutes. */
  ttlMs = 15 * 60_000;
  /** Open cursors per user; opening one more releases the oldest. Default: 10. */
  maxOpen = 10;

  constructor(private readonly clock: OrgClock) {}

  get size(): number {
    return this.open.size;
  }

  /** Opens a cursor on all of a query's rows (offsets in its locators index them); returns its locator. */
  openCursor(object: string, rows: SfRecord[], batchSize: number): string {
    this.expire();
    while (this.open.size >= this.maxOpen) this.open.delete(this.open.keys().next().value!);
    const locator = recordId(CURSOR_PREFIX, ++this.sequence);
    this.open.set(locator, { locator, object, rows, batchSize, lastUsed: this.clock.now() });
    return locator;
  }

  /** The cursor a locator names, touched; INVALID_QUERY_LOCATOR when it expired, was released or never was. */
  take(locator: string): QueryCursor {
    this.expire();
    const cursor = this.open.get(locator);
    if (!cursor) throw invalidQueryLocator();
    cursor.lastUsed = this.clock.now();
    return cursor;
  }

  close(locator: string): void {
    this.open.delete(locator);
  }

  /** Every open cursor is released (a fault: the next queryMore gets INVALID_QUERY_LOCATOR). */
  closeAll(): void {
    this.open.clear();
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [locator, cursor] of this.open) if (now - cursor.lastUsed > this.ttlMs) this.open.delete(locator);
  }
}
