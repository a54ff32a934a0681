/**
 * The salesforce source's read-side codes. Whole-request codes of the write side (INVALID_SESSION_ID,
 * REQUEST_LIMIT_EXCEEDED, network failures, …) keep their classes from the shared catalogue; these are
 * the errors only reads meet, classed for what the extract engine does with them:
 * - a locator gone (`INVALID_QUERY_LOCATOR`: expired after 15 minutes idle, or more than 10 open per user)
 *   is `transient`: the read restarts from the committed cursor;
 * - a query naming a field that is gone or unreadable (`INVALID_FIELD`, `MALFORMED_QUERY`) is
 *   `schema_drift`: the engine re-describes and drops the field;
 * - a filter Salesforce refuses on the count (before any field is named) is `fatal`: the user fixes it.
 */
import { oneLine } from '../../../shared/errors.js';
import { clip } from '../../../shared/redact.js';
import type { Failure } from '../../destination.js';
import { defineCatalogue, hasCode, type CatalogueEntry } from '../../kit/catalogue.js';
import { classifyRequestError, sfCatalogue } from '../../salesforce/errors.js';

const readCodes = {
  SF_INVALID_QUERY_LOCATOR: {
    errorClass: 'transient',
    remediation: 'A query locator expired or too many were open; the read restarts from the committed cursor.',
  },
  SF_INVALID_REPLICATION_DATE: {
    errorClass: 'transient',
    remediation:
      'The replication window is older than the org keeps deletes (30 days); deletes are read by a SystemModstamp query instead.',
  },
  SF_INVALID_FIELD: {
    errorClass: 'schema_drift',
    remediation:
      'A field of the extract is gone or unreadable for the integration user; it is dropped from the query (restore it or its read permission).',
  },
  SF_MALFORMED_QUERY: {
    errorClass: 'schema_drift',
    remediation: 'Salesforce refused the query; if a field is gone it is dropped, otherwise fix the extract.',
  },
  SF_FILTER_REFUSED: {
    errorClass: 'fatal',
    remediation: 'Salesforce refused the filter; fix `filter:` in the extract file (a SOQL WHERE condition).',
  },
  SF_BULK_QUERY_FAILED: {
    errorClass: 'transient',
    remediation: 'Salesforce failed the Bulk API query job; the read restarts from the committed cursor.',
  },
  SF_CORRUPT_GZIP: {
    errorClass: 'transient',
    remediation: 'A compressed answer failed to decode; the call is made again without compression.',
  },
  SF_SOURCE_CONFIG: { errorClass: 'fatal', remediation: 'Fix the source settings in the project file.' },
} as const satisfies Record<string, CatalogueEntry>;

export const sfReadCatalogue = defineCatalogue({ ...readCodes, ...sfCatalogue.entries });

const MESSAGE_CHARS = 400;

/** A zlib failure while fetch decodes a gzip or deflate body. */
export function isCorruptCompression(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
  // fetch reports a body it could not decode as `TypeError: terminated` caused by the zlib error.
  if (e.cause && e.cause !== error && isCorruptCompression(e.cause)) return true;
  const text = `${String(e.code ?? '')} ${String(e.errno ?? '')} ${String(e.message ?? '')}`;
  return /Z_DATA_ERROR|Z_BUF_ERROR|incorrect header check|invalid (stored )?block|unexpected end of file|invalid distance/i.test(text);
}

/** Classifies what a read call threw: read-side codes first, then the shared catalogue. */
export function classifyReadError(error: unknown, status: number | undefined, context: string, secrets: string[]): Failure {
  if (isCorruptCompression(error)) {
    const message = clip(oneLine(`${context}: ${String((error as Error).message ?? error)}`), MESSAGE_CHARS, secrets);
    return sfReadCatalogue.failure('SF_CORRUPT_GZIP', message);
  }
  const e = (error ?? {}) as { errorCode?: unknown; message?: unknown };
  const code = typeof e.errorCode === 'string' ? `SF_${e.errorCode}` : '';
  if (hasCode(readCodes, code)) {
    const message = clip(
      oneLine(`${context}: ${String(e.errorCode)}${status ? ` (HTTP ${status})` : ''}: ${String(e.message ?? '')}`),
      MESSAGE_CHARS,
      secrets,
    );
    const failure = sfReadCatalogue.failure(code, message);
    // "No such column 'Title' on entity 'Contact'": the field to drop.
    const column = /No such column '([^']+)'/.exec(String(e.message ?? ''))?.[1];
    if (column) failure.fields = [column];
    return failure;
  }
  return classifyRequestError(error, status, context, secrets);
}
