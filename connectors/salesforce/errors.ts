/**
 * The salesforce destination's error catalogue: every Salesforce code → failure class and remediation.
 * Codes are `SF_<statusCode>` for per-record errors, `SF_<errorCode>` for whole-request ones, and a few
 * of the connector's own (`SF_NETWORK`, `SF_DAILY_REQUEST_LIMIT`, …).
 *
 * REQUEST_LIMIT_EXCEEDED means two things: ConcurrentPerOrgLongTxn (too many long calls at once, gone
 * in seconds: `rate_limited`) and TotalRequests (the org's rolling 24-hour API quota: `quota`, because
 * every further call would fail too; the run stops sending and defers its unsent rows).
 */
import { oneLine } from '../../shared/errors.js';
import { clip } from '../../shared/redact.js';
import type { Failure } from '../destination.js';
import { defineCatalogue, hasCode, type CatalogueEntry } from '../kit/catalogue.js';

/** Per-record `statusCode`s in a collection result's `errors[]`. */
const recordCodes = {
  SF_UNABLE_TO_LOCK_ROW: {
    errorClass: 'transient',
    remediation: 'Another transaction held the record (or its parent) locked; the record is retried.',
  },
  SF_ALL_OR_NONE_OPERATION_ROLLED_BACK: {
    errorClass: 'transient',
    remediation: 'The record was fine but was rolled back with a failing one; it is sent again.',
  },
  SF_DUPLICATE_VALUE: {
    errorClass: 'rejected',
    remediation: 'Another record already holds this unique value; fix the value in the model or merge the records.',
  },
  SF_STRING_TOO_LONG: {
    errorClass: 'rejected',
    remediation: 'A text value is longer than the field allows; shorten it in the model or raise the field length.',
    blocks: true,
  },
  SF_REQUIRED_FIELD_MISSING: {
    errorClass: 'rejected',
    remediation: 'Map a non-null value to every field the message names; Salesforce requires it.',
    blocks: true,
  },
  SF_FIELD_INTEGRITY_EXCEPTION: {
    errorClass: 'rejected',
    remediation: 'A value breaks a field rule (e.g. a blank owner or a bad picklist value); fix it in the model.',
    blocks: true,
  },
  SF_NUMBER_OUTSIDE_VALID_RANGE: {
    errorClass: 'rejected',
    remediation: 'A number is too large for its field; fix the value or widen the field.',
    blocks: true,
  },
  SF_INVALID_EMAIL_ADDRESS: {
    errorClass: 'rejected',
    remediation: 'The email value is not a valid address; fix it in the model.',
    blocks: true,
  },
  SF_MALFORMED_ID: {
    errorClass: 'rejected',
    remediation: 'A value given as a Salesforce Id is not a valid Id of the right object; fix it in the model.',
    blocks: true,
  },
  SF_DUPLICATES_DETECTED: {
    errorClass: 'rejected',
    remediation: 'A duplicate rule blocked the record; fix the data or relax the rule in Salesforce.',
  },
  SF_ENTITY_IS_DELETED: {
    errorClass: 'rejected',
    remediation: 'The record was deleted in Salesforce; undelete it or run with --full-resync to recreate it.',
  },
  SF_INSUFFICIENT_ACCESS_OR_READONLY: {
    errorClass: 'rejected',
    remediation: 'The integration user may not edit this record; share it with the user or change the owner.',
  },
  SF_FIELD_CUSTOM_VALIDATION_EXCEPTION: {
    errorClass: 'rejected',
    remediation: 'A validation rule refused the record; fix the values it names or change the rule.',
    blocks: true,
  },
  SF_INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: {
    errorClass: 'rejected',
    remediation: 'The value is not in the restricted picklist; map an allowed value.',
    blocks: true,
  },
  SF_INVALID_CROSS_REFERENCE_KEY: {
    errorClass: 'needs_change',
    remediation: 'A referenced record (parent, owner, record type) does not exist yet; sync it first, the row is retried next run.',
  },
  SF_INVALID_FIELD_FOR_INSERT_UPDATE: {
    errorClass: 'schema_drift',
    remediation: 'The field is read-only for the integration user; grant edit access in field-level security or unmap it.',
  },
} as const satisfies Record<string, CatalogueEntry>;

/** Whole-request `errorCode`s, from a non-2xx answer `[{message, errorCode}]`. */
const requestCodes = {
  SF_INVALID_SESSION_ID: {
    errorClass: 'auth',
    remediation: 'The access token expired or was revoked; give a fresh access_token, or refresh_token + client_id so it can be refreshed.',
  },
  SF_INVALID_AUTH_HEADER: { errorClass: 'auth', remediation: 'Give a valid access_token.' },
  SF_API_DISABLED_FOR_ORG: {
    errorClass: 'auth',
    remediation: 'Enable API access for the org, or use a user whose profile has "API Enabled".',
  },
  SF_INSUFFICIENT_ACCESS: {
    errorClass: 'auth',
    remediation: 'The integration user lacks permission on this object; grant create/edit/delete in its profile or a permission set.',
  },
  SF_SERVER_UNAVAILABLE: { errorClass: 'transient', remediation: 'Salesforce is temporarily unavailable; the rows are retried.' },
  SF_UNKNOWN_EXCEPTION: { errorClass: 'transient', remediation: 'Salesforce failed internally; the rows are retried.' },
  SF_INVALID_FIELD: {
    errorClass: 'schema_drift',
    remediation: 'A mapped field no longer exists or is hidden from the integration user; restore it or remove it from the mapping.',
  },
  SF_INVALID_TYPE: {
    errorClass: 'fatal',
    remediation: 'The object does not exist or is hidden from the integration user; fix `object` in the sync.',
  },
  SF_NOT_FOUND: {
    errorClass: 'fatal',
    remediation: 'The object or external_id field does not exist or is not accessible; fix `object` or `external_id` in the sync.',
  },
  SF_EXCEEDED_ID_LIMIT: {
    errorClass: 'rejected',
    remediation: 'More than 200 records in one call; the batch is split (keep batch_size at 200 or less).',
  },
  SF_JSON_PARSER_ERROR: {
    errorClass: 'rejected',
    remediation: 'Salesforce could not read a value of the batch; the batch is split to find the row.',
  },
  SF_MALFORMED_QUERY: { errorClass: 'fatal', remediation: 'The Id lookup query was refused; report this with the message.' },
} as const satisfies Record<string, CatalogueEntry>;

/** The connector's own codes. */
const ownCodes = {
  SF_CONFIG: { errorClass: 'fatal', remediation: 'Fix the destination or sync settings.' },
  SF_NETWORK: {
    errorClass: 'transient',
    remediation: 'Salesforce could not be reached; check instance_url and the network path. The rows are retried.',
  },
  SF_TIMEOUT: { errorClass: 'transient', remediation: 'Salesforce did not answer in time; lower batch_size if this persists.' },
  SF_DNS: { errorClass: 'fatal', remediation: 'The instance_url host does not resolve; fix instance_url.' },
  SF_REFRESH_FAILED: {
    errorClass: 'auth',
    remediation:
      'The token could not be refreshed; check refresh_token, client_id, client_secret and login_url, or give a fresh access_token.',
  },
  SF_DAILY_REQUEST_LIMIT: {
    errorClass: 'quota',
    remediation:
      "The org's 24-hour API request limit is used up; unsent rows are deferred and a run after resume_after_minutes sends them (or raise the org's limit).",
  },
  SF_CONCURRENT_REQUEST_LIMIT: {
    errorClass: 'rate_limited',
    remediation: 'Too many long-running calls at once in the org; lower concurrency if this persists.',
  },
  SF_NO_EXTERNAL_ID: {
    errorClass: 'rejected',
    remediation: 'Give every row a non-null value for the external_id field; Salesforce matches records on it.',
    blocks: true,
  },
  SF_NO_ID: {
    errorClass: 'rejected',
    remediation:
      'The row was never acknowledged with a Salesforce Id, so it cannot be deleted by one; delete the record in Salesforce if it exists.',
    blocks: true,
  },
  SF_NO_MATCH: {
    errorClass: 'rejected',
    remediation: 'No record has this external_id value; update mode changes existing records only (use upsert to create them).',
  },
  SF_UNKNOWN_OBJECT: {
    errorClass: 'fatal',
    remediation: 'Fix `object` in the sync: the name is case-sensitive and custom objects end in __c.',
  },
  SF_UNKNOWN_FIELD: {
    errorClass: 'fatal',
    remediation: 'Fix the mapping: each destination field must be an API field name of the object (custom ones end in __c).',
  },
  SF_FIELD_NOT_WRITABLE: {
    errorClass: 'fatal',
    remediation: 'Grant the integration user edit access to the field, or remove it from the mapping.',
  },
  SF_NOT_EXTERNAL_ID: {
    errorClass: 'fatal',
    remediation:
      'Point external_id at a field marked External ID (or an idLookup field such as Email), or mark it External ID in Salesforce.',
  },
  SF_NOT_DELETABLE: {
    errorClass: 'fatal',
    remediation: 'The integration user may not delete this object, which mirror mode needs; grant Delete or use upsert mode.',
  },
  SF_HTTP_4XX: { errorClass: 'rejected', remediation: 'Salesforce refused the request; the batch is split to find the row it names.' },
  SF_HTTP_5XX: { errorClass: 'transient', remediation: 'Salesforce or a gateway failed; the rows are retried.' },
  SF_HTTP_401: { errorClass: 'auth', remediation: 'Salesforce refused the credentials; give a fresh access_token.' },
  SF_HTTP_403: { errorClass: 'auth', remediation: 'The integration user lacks a permission this call needs; grant it.' },
  SF_HTTP_404: { errorClass: 'fatal', remediation: 'Nothing answers at this address; check instance_url and api_version.' },
  SF_HTTP_429: {
    errorClass: 'transient',
    remediation: 'A gateway in front of Salesforce asked to slow down; the rows are retried, lower concurrency if this persists.',
  },
  SF_BULK_JOB_FAILED: {
    errorClass: 'transient',
    remediation: 'Salesforce failed the Bulk API job as a whole; its rows are sent again through sObject Collections.',
  },
  SF_BULK_FIELD_NOT_FOUND: {
    errorClass: 'schema_drift',
    remediation: 'A mapped field is gone or hidden from the integration user; restore it or remove it from the mapping.',
  },
  SF_BULK_TIMEOUT: {
    errorClass: 'fatal',
    remediation: 'The Bulk API job is still running in Salesforce; the next run reads its results before it plans.',
  },
  SF_BULK_NA_TEXT: {
    errorClass: 'rejected',
    remediation: 'Bulk API 2.0 reads the text #N/A as null; change the value in the model, or set api: rest for this sync.',
  },
  SF_VALUE_NOT_OF_TYPE: {
    errorClass: 'rejected',
    remediation: 'The value cannot be read as the field\'s type (README "Salesforce: field types"); fix it in the model or cast it there.',
    blocks: true,
  },
  SF_NUMBER_LOSES_DIGITS: {
    errorClass: 'rejected',
    remediation:
      'The number has more decimal places than the field keeps, and is never rounded silently; round it in the model or raise the field scale.',
    blocks: true,
  },
  SF_FIELD_TYPE_CHANGED: {
    errorClass: 'schema_drift',
    remediation:
      "A mapped field's type or length changed in Salesforce; the run describes it again and coerces to the new type where that is lossless.",
  },
  SF_UNKNOWN: { errorClass: 'fatal', remediation: 'Unexpected error; see the message.' },
  SF_RECORD_REFUSED: { errorClass: 'rejected', remediation: 'Salesforce refused this record; fix the values the message names.' },
} as const satisfies Record<string, CatalogueEntry>;

const MESSAGE_CHARS = 400;

export const sfCatalogue = defineCatalogue({ ...recordCodes, ...requestCodes, ...ownCodes });

export interface SaveErrorLike {
  statusCode?: unknown;
  errorCode?: unknown;
  message?: unknown;
  fields?: unknown;
}

/** A record Salesforce refused in a collection result. jsforce passes `statusCode` through; older paths say `errorCode`. */
export function recordFailure(errors: SaveErrorLike[] | undefined, secrets: string[]): Failure {
  const first = errors?.[0] ?? {};
  const statusCode = String(first.statusCode ?? first.errorCode ?? 'UNKNOWN');
  const text = (errors ?? [])
    .map((e) => {
      const fields = Array.isArray(e.fields) && e.fields.length > 0 ? ` (${e.fields.join(', ')})` : '';
      return `${String(e.statusCode ?? e.errorCode ?? 'UNKNOWN')}: ${String(e.message ?? '')}${fields}`;
    })
    .join('; ');
  const code = `SF_${statusCode}`;
  const message = clip(oneLine(text || 'refused without a reason'), MESSAGE_CHARS, secrets);
  const failure = sfCatalogue.passthrough(code, hasCode(recordCodes, code) ? code : 'SF_RECORD_REFUSED', message);
  const fields = Array.isArray(first.fields) ? first.fields.filter((f): f is string => typeof f === 'string') : [];
  if (fields.length > 0) failure.fields = fields;
  return failure;
}

/**
 * A record a Bulk API 2.0 job refused: `sf__Error` is `STATUSCODE:message:field1,field2 --`, or
 * `STATUSCODE:message:--` with no fields (jsforce test/bulk2.test.ts, against a live org). The message
 * may itself hold colons, so the code is cut at the first and the fields at the last.
 */
export function bulkRecordFailure(sfError: string, secrets: string[]): Failure {
  const match = /^([A-Z_]+):(.*):([^:]*?)\s*--\s*$/s.exec(sfError);
  if (!match) return recordFailure([{ statusCode: /^[A-Z_]+/.exec(sfError)?.[0] ?? 'UNKNOWN', message: sfError }], secrets);
  const fields = match[3] === '' ? [] : match[3].split(',');
  return recordFailure([{ statusCode: match[1], message: match[2], fields }], secrets);
}

interface ErrorLike {
  name?: unknown;
  errorCode?: unknown;
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/**
 * Classifies what a jsforce call threw. `status` is the HTTP status of the last answer, when there was
 * one: jsforce's error keeps only the body's errorCode (or `ERROR_HTTP_<status>` for a body that is not JSON).
 */
export function classifyRequestError(error: unknown, status: number | undefined, context: string, secrets: string[]): Failure {
  const e = (error ?? {}) as ErrorLike;
  let errorCode = typeof e.errorCode === 'string' ? e.errorCode : undefined;
  let text = typeof e.message === 'string' ? e.message : String(error);
  // Several errors in one answer: classify by the first.
  if (errorCode === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data) && e.data.length > 0) {
    const first = e.data[0] as { errorCode?: unknown; message?: unknown };
    if (typeof first.errorCode === 'string') errorCode = first.errorCode;
    if (typeof first.message === 'string') text = first.message;
  }
  const describe = (code: string) =>
    clip(oneLine(`${context}: ${code}${status ? ` (HTTP ${status})` : ''}: ${text}`), MESSAGE_CHARS, secrets);

  if (/^Unable to refresh session/.test(text)) return sfCatalogue.failure('SF_REFRESH_FAILED', describe('refresh failed'));
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    const concurrent = /ConcurrentPerOrgLongTxn|Concurrent/i.test(text);
    return sfCatalogue.failure(concurrent ? 'SF_CONCURRENT_REQUEST_LIMIT' : 'SF_DAILY_REQUEST_LIMIT', describe(errorCode));
  }
  const requestCode = `SF_${errorCode}`;
  if (errorCode && hasCode(requestCodes, requestCode)) {
    const failure = sfCatalogue.failure(requestCode, describe(errorCode));
    // A write naming a deleted (or unreadable) field: "No such column 'X__c' on sobject of type Account".
    const column = errorCode === 'INVALID_FIELD' ? /No such column '([^']+)'/.exec(text)?.[1] : undefined;
    if (column) failure.fields = [column];
    return failure;
  }

  const httpStatus = status ?? (errorCode ? Number(/^ERROR_HTTP_(\d{3})$/.exec(errorCode)?.[1]) || undefined : undefined);
  if (httpStatus !== undefined && httpStatus >= 400) {
    const byStatus = `SF_HTTP_${httpStatus}`;
    const like = hasCode(ownCodes, byStatus) ? byStatus : httpStatus >= 500 ? 'SF_HTTP_5XX' : 'SF_HTTP_4XX';
    const message = describe(errorCode ?? `HTTP ${httpStatus}`);
    // jsforce's errorCode, when the body had one, names the failure; the status classifies it.
    return errorCode ? sfCatalogue.passthrough(requestCode, like, message) : sfCatalogue.failure(like, message);
  }

  // No answer at all: node-fetch reports socket failures as FetchError with the errno in `code`.
  const socketCode = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'AbortError' || /aborted due to timeout/i.test(text)) return sfCatalogue.failure('SF_TIMEOUT', describe('timeout'));
  if (socketCode === 'ENOTFOUND') return sfCatalogue.failure('SF_DNS', describe(socketCode));
  if (e.name === 'FetchError' || (socketCode && NETWORK_CODES.has(socketCode))) {
    return sfCatalogue.failure('SF_NETWORK', describe(socketCode ?? 'network error'));
  }
  return sfCatalogue.failure('SF_UNKNOWN', describe(errorCode ?? (typeof e.name === 'string' ? e.name : 'error')));
}
