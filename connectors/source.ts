/**
 * The source connector contract (the ETL direction): a source reads one object's records, incrementally
 * by a modification stamp, and lists the records deleted since an instant. It classifies what goes
 * wrong with its own catalogue; the extract engine in core/extract decides what to do (restart the read
 * from the committed cursor, drop a field, pause the extract).
 *
 * Values cross as text (or null): every digit of a decimal and every instant stay exact, and the
 * landing database casts them to the column types the source's describe gave.
 */
import type { ApiUsage, Failure } from './destination.js';

/** Column types a landed table may have, in the SQL both DuckDB and PostgreSQL read. */
export type LandedType = 'text' | 'boolean' | 'bigint' | 'double precision' | 'date' | 'timestamptz' | `decimal(${number},${number})`;

export interface SourceField {
  name: string;
  type: LandedType;
}

/** One read of an object: its fields, an optional filter in the source's own language, and a lower bound. */
export interface SourceRead {
  object: string;
  /** Fields to read; the record id and the modification stamp are always read too. */
  fields: string[];
  /** The extract's `filter:`, passed to the source as is; the source judges it. */
  filter: string | null;
  /** Records modified at or after this instant; null reads all (a first, full load). */
  since: Date | null;
}

/** A record as text: field → value, with `Id` and the stamp field always set. */
export type SourceRecord = Record<string, string | null>;

/** Something the source did on its own that the run's events should say (a fallback, a retry). */
export interface SourceNotice {
  kind: string;
  reason: string;
}

export class SourceError extends Error {
  constructor(
    readonly failure: Failure,
    readonly apiCalls = 0,
  ) {
    super(failure.message);
    this.name = 'SourceError';
  }
}

export interface SourceClient {
  /** The object's readable fields, asked afresh (never a cached describe). */
  describe(object: string): Promise<SourceField[]>;
  /** How many records `read` would return (one call). */
  count(read: SourceRead): Promise<number>;
  /** The records of `read`, page by page; `bulk` reads through the source's bulk path. */
  changed(read: SourceRead, bulk: boolean): AsyncIterable<SourceRecord[]>;
  /**
   * Ids of the records deleted from `since` to `until`, and the instant the answer covers up to (the
   * next window starts there). One answer holds them all (getDeleted answers at most 600,000 Ids).
   */
  deleted(object: string, since: Date, until: Date): Promise<{ ids: string[]; coveredUntil: Date }>;
  /** The org's API usage from the last answer's header (Salesforce: `Sforce-Limit-Info`), if any. */
  lastUsage(): ApiUsage | undefined;
  /** HTTP calls made so far, refreshes included. */
  readonly apiCalls: number;
  close(): Promise<void>;
}

export interface SourceConnector {
  type: string;
  /** JSON Schema properties of a `sources.<name>` entry beyond `type`. */
  settingsSchema: { properties: Record<string, object>; required?: string[] };
  /** Keys of a `sources.<name>` entry that must come from ${ENV}. */
  secretKeys: readonly string[];
  /** The name of the field every record is stamped with when it changes (Salesforce: SystemModstamp). */
  stampField: string;
  /** The name of the record id field (Salesforce: Id). */
  idField: string;
  /**
   * Opens a client. `notice` hears what the source healed by itself; `secrets` are masked out of its
   * messages. Settings were checked by the schema; a bad value throws a SourceError of class fatal.
   */
  open(settings: Record<string, unknown>, options: SourceOpenOptions): Promise<SourceClient>;
  /** Checks a filter locally, before it is sent: a problem to report against the extract file, or null. */
  filterProblem(filter: string): string | null;
}

export interface SourceOpenOptions {
  name: string;
  secrets: readonly string[];
  notice(notice: SourceNotice): void;
  /** Injected wait (Bulk API polls); real timers by default. */
  sleep?: (ms: number) => Promise<void>;
}
