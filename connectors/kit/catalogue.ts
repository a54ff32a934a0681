/**
 * A connector's error catalogue, declared once: every code it raises → failure class and remediation.
 *
 *   export const pg = defineCatalogue({ PG_CONFIG: { errorClass: 'fatal', remediation: '…' }, … });
 *   pg.failure('PG_CONFIG', message)   // a Failure
 *   throw pg.error('PG_CONFIG', message) // a DestinationError that spent no API call
 *
 * The codes are the catalogue's keys as literal types, so a code the catalogue lacks does not compile
 * (test/connector-kit.test.ts proves it). Codes a vendor makes up at run time (`SF_<statusCode>`,
 * `HTTP_<status>`) go through `passthrough`, which keeps the vendor's code and takes the class and
 * remediation of a catalogued code: the only path that accepts a string.
 */
import { DestinationError, type Failure, type FailureClass } from '../destination.js';

export interface CatalogueEntry {
  readonly errorClass: FailureClass;
  /** One sentence: what the user can do about it. */
  readonly remediation: string;
  /**
   * True when resending the same values cannot succeed: the row is then blocked, skipped by later runs
   * at no API call until one of its mapped values or the sync's mapping changes. Leave it out for
   * errors that may pass later unchanged (locks, duplicates, a missing parent record, a generic 4xx).
   */
  readonly blocks?: boolean;
}

export interface FailureOptions {
  /** Server-requested wait (Retry-After); left out of the failure when undefined. */
  retryAfterMs?: number;
  /** Replaces the catalogue's sentence when the call site knows a more precise fix. */
  remediation?: string;
}

export interface DestinationErrorOptions extends FailureOptions {
  /** API calls the failed call spent. Default 0: checks and settings fail before any call. */
  apiCalls?: number;
}

export interface FailureCatalogue<Code extends string> {
  readonly entries: Readonly<Record<Code, CatalogueEntry>>;
  /** Narrows a string read off the wire to a catalogued code. */
  has(code: string): code is Code;
  failure(code: Code, message: string, options?: FailureOptions): Failure;
  /** `failure` wrapped in a DestinationError, for `throw`. */
  error(code: Code, message: string, options?: DestinationErrorOptions): DestinationError;
  /** A vendor's own code, kept as is, classified like the catalogued code `like`. */
  passthrough(code: string, like: Code, message: string, options?: FailureOptions): Failure;
}

/** True when `code` is a key of `section`: for catalogues declared in several parts (by source of the code). */
export function hasCode<Section extends object>(section: Section, code: string): code is Extract<keyof Section, string> {
  return Object.hasOwn(section, code);
}

export function defineCatalogue<const Entries extends Record<string, CatalogueEntry>>(
  entries: Entries,
): FailureCatalogue<Extract<keyof Entries, string>> {
  type Code = Extract<keyof Entries, string>;
  for (const [code, entry] of Object.entries(entries)) {
    // Only a refusal of the row's own values can block it: a transient or run-stopping error never does.
    if (entry.blocks && entry.errorClass !== 'rejected') throw new Error(`${code}: only a rejected code can block a row`);
  }
  const has = (code: string): code is Code => Object.hasOwn(entries, code);
  const build = (code: string, entry: CatalogueEntry, message: string, options: FailureOptions = {}): Failure => {
    const failure: Failure = { errorClass: entry.errorClass, code, message, remediation: options.remediation ?? entry.remediation };
    if (options.retryAfterMs !== undefined) failure.retryAfterMs = options.retryAfterMs;
    if (entry.blocks) failure.blocks = true;
    return failure;
  };
  const entryOf = (code: string): CatalogueEntry => {
    // Only reachable past the type checker (a cast, plain JS): a programming error, said loudly.
    if (!has(code)) throw new Error(`error code ${code} is not in the connector's catalogue`);
    return entries[code];
  };
  return {
    entries,
    has,
    failure: (code, message, options) => build(code, entryOf(code), message, options),
    error: (code, message, options = {}) => new DestinationError(build(code, entryOf(code), message, options), options.apiCalls ?? 0),
    passthrough: (code, like, message, options) => build(code, entryOf(like), message, options),
  };
}
