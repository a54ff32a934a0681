/**
 * The salesforce destination's error catalogue: every Salesforce code → failure class and remediation.
 * Codes are `SF_<statusCode>` for per-record errors, `SF_<errorCode>` for whole-request ones, and a few
 * of the connector's own (`SF_NETWORK`, `SF_DAILY_REQUEST_LIMIT`, …).
 *
 * REQUEST_LIMIT_EXCEEDED means two things: ConcurrentPerOrgLongTxn (too many long calls at once, gone
 * in seconds: `rate_limited`) and TotalRequests (the org's rolling 24-hour API quota: `fatal`, because
 * every further call would fail too; the run stops and the next one sends the rows).
 */
import { oneLine } from '../../../shared/errors.js';
import { clip } from '../../../shared/redact.js';
import type { Failure, FailureClass } from '../../destination.js';

interface Entry {
  errorClass: FailureClass;
  remediation: string;
}

const entry = (errorClass: FailureClass, remediation: string): Entry => ({ errorClass, remediation });

/** Per-record `statusCode`s in a collection result's `errors[]`. */
const recordCodes: Record<string, Entry> = {
  UNABLE_TO_LOCK_ROW: entry('transient', 'Another transaction held the record (or its parent) locked; the record is retried.'),
  ALL_OR_NONE_OPERATION_ROLLED_BACK: entry('transient', 'The record was fine but was rolled back with a failing one; it is sent again.'),
  DUPLICATE_VALUE: entry('rejected', 'Another record already holds this unique value; fix the value in the model or merge the records.'),
  STRING_TOO_LONG: entry('rejected', 'A text value is longer than the field allows; shorten it in the model or raise the field length.'),
  REQUIRED_FIELD_MISSING: entry('rejected', 'Map a non-null value to every field the message names; Salesforce requires it.'),
  FIELD_INTEGRITY_EXCEPTION: entry('rejected', 'A value breaks a field rule (e.g. a blank owner or a bad picklist value); fix it in the model.'),
  NUMBER_OUTSIDE_VALID_RANGE: entry('rejected', 'A number is too large for its field; fix the value or widen the field.'),
  INVALID_EMAIL_ADDRESS: entry('rejected', 'The email value is not a valid address; fix it in the model.'),
  MALFORMED_ID: entry('rejected', 'A value given as a Salesforce Id is not a valid Id of the right object; fix it in the model.'),
  DUPLICATES_DETECTED: entry('rejected', 'A duplicate rule blocked the record; fix the data or relax the rule in Salesforce.'),
  ENTITY_IS_DELETED: entry('rejected', 'The record was deleted in Salesforce; undelete it or run with --full-resync to recreate it.'),
  INSUFFICIENT_ACCESS_OR_READONLY: entry('rejected', 'The integration user may not edit this record; share it with the user or change the owner.'),
  FIELD_CUSTOM_VALIDATION_EXCEPTION: entry('rejected', 'A validation rule refused the record; fix the values it names or change the rule.'),
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: entry('rejected', 'The value is not in the restricted picklist; map an allowed value.'),
  INVALID_CROSS_REFERENCE_KEY: entry('needs_change', 'A referenced record (parent, owner, record type) does not exist yet; sync it first, the row is retried next run.'),
  INVALID_FIELD_FOR_INSERT_UPDATE: entry('schema_drift', 'The field is read-only for the integration user; grant edit access in field-level security or unmap it.'),
};

/** Whole-request `errorCode`s, from a non-2xx answer `[{message, errorCode}]`. */
const requestCodes: Record<string, Entry> = {
  INVALID_SESSION_ID: entry('auth', 'The access token expired or was revoked; give a fresh access_token, or refresh_token + client_id so it can be refreshed.'),
  INVALID_AUTH_HEADER: entry('auth', 'Give a valid access_token.'),
  API_DISABLED_FOR_ORG: entry('auth', 'Enable API access for the org, or use a user whose profile has "API Enabled".'),
  INSUFFICIENT_ACCESS: entry('auth', 'The integration user lacks permission on this object; grant create/edit/delete in its profile or a permission set.'),
  SERVER_UNAVAILABLE: entry('transient', 'Salesforce is temporarily unavailable; the rows are retried.'),
  UNKNOWN_EXCEPTION: entry('transient', 'Salesforce failed internally; the rows are retried.'),
  INVALID_FIELD: entry('schema_drift', 'A mapped field no longer exists or is hidden from the integration user; restore it or remove it from the mapping.'),
  INVALID_TYPE: entry('fatal', 'The object does not exist or is hidden from the integration user; fix `object` in the sync.'),
  NOT_FOUND: entry('fatal', 'The object or external_id field does not exist or is not accessible; fix `object` or `external_id` in the sync.'),
  EXCEEDED_ID_LIMIT: entry('rejected', 'More than 200 records in one call; the batch is split (keep batch_size at 200 or less).'),
  JSON_PARSER_ERROR: entry('rejected', 'Salesforce could not read a value of the batch; the batch is split to find the row.'),
  MALFORMED_QUERY: entry('fatal', 'The Id lookup query was refused; report this with the message.'),
};

/** The connector's own codes. */
const ownCodes: Record<string, Entry> = {
  SF_CONFIG: entry('fatal', 'Fix the destination or sync settings.'),
  SF_NETWORK: entry('transient', 'Salesforce could not be reached; check instance_url and the network path. The rows are retried.'),
  SF_TIMEOUT: entry('transient', 'Salesforce did not answer in time; lower batch_size if this persists.'),
  SF_DNS: entry('fatal', 'The instance_url host does not resolve; fix instance_url.'),
  SF_REFRESH_FAILED: entry('auth', 'The token could not be refreshed; check refresh_token, client_id, client_secret and login_url, or give a fresh access_token.'),
  SF_DAILY_REQUEST_LIMIT: entry('fatal', "The org's 24-hour API request limit is used up; the run stops and the next run, after usage drops, sends the rows."),
  SF_CONCURRENT_REQUEST_LIMIT: entry('rate_limited', 'Too many long-running calls at once in the org; lower concurrency if this persists.'),
  SF_NO_EXTERNAL_ID: entry('rejected', 'Give every row a non-null value for the external_id field; Salesforce matches records on it.'),
  SF_NO_ID: entry('rejected', 'The row was never acknowledged with a Salesforce Id, so it cannot be deleted by one; delete the record in Salesforce if it exists.'),
  SF_NO_MATCH: entry('rejected', 'No record has this external_id value; update mode changes existing records only (use upsert to create them).'),
  SF_UNKNOWN_OBJECT: entry('fatal', 'Fix `object` in the sync: the name is case-sensitive and custom objects end in __c.'),
  SF_UNKNOWN_FIELD: entry('fatal', 'Fix the mapping: each destination field must be an API field name of the object (custom ones end in __c).'),
  SF_FIELD_NOT_WRITABLE: entry('fatal', 'Grant the integration user edit access to the field, or remove it from the mapping.'),
  SF_NOT_EXTERNAL_ID: entry('fatal', 'Point external_id at a field marked External ID (or an idLookup field such as Email), or mark it External ID in Salesforce.'),
  SF_NOT_DELETABLE: entry('fatal', 'The integration user may not delete this object, which mirror mode needs; grant Delete or use upsert mode.'),
  SF_HTTP_4XX: entry('rejected', 'Salesforce refused the request; the batch is split to find the row it names.'),
  SF_HTTP_5XX: entry('transient', 'Salesforce or a gateway failed; the rows are retried.'),
  SF_HTTP_401: entry('auth', 'Salesforce refused the credentials; give a fresh access_token.'),
  SF_HTTP_403: entry('auth', 'The integration user lacks a permission this call needs; grant it.'),
  SF_HTTP_404: entry('fatal', 'Nothing answers at this address; check instance_url and api_version.'),
  SF_HTTP_429: entry('transient', 'A gateway in front of Salesforce asked to slow down; the rows are retried, lower concurrency if this persists.'),
  SF_UNKNOWN: entry('fatal', 'Unexpected error; see the message.'),
};

const MESSAGE_CHARS = 400;

/** The failure for one of the connector's own codes, or for an `SF_<code>` of the catalogue. */
export function sfFailure(code: string, message: string): Failure {
  const bare = code.replace(/^SF_/, '');
  const known = ownCodes[code] ?? recordCodes[bare] ?? requestCodes[bare] ?? ownCodes.SF_UNKNOWN;
  return { errorClass: known.errorClass, code, message, remediation: known.remediation };
}

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
  const known = recordCodes[statusCode] ?? entry('rejected', 'Salesforce refused this record; fix the values the message names.');
  const message = clip(oneLine(text || 'refused without a reason'), MESSAGE_CHARS, secrets);
  return { errorClass: known.errorClass, code: `SF_${statusCode}`, message, remediation: known.remediation };
}

interface ErrorLike {
  name?: unknown;
  errorCode?: unknown;
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

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
  const describe = (code: string) => clip(oneLine(`${context}: ${code}${status ? ` (HTTP ${status})` : ''}: ${text}`), MESSAGE_CHARS, secrets);

  if (/^Unable to refresh session/.test(text)) return sfFailure('SF_REFRESH_FAILED', describe('refresh failed'));
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
    const concurrent = /ConcurrentPerOrgLongTxn|Concurrent/i.test(text);
    return sfFailure(concurrent ? 'SF_CONCURRENT_REQUEST_LIMIT' : 'SF_DAILY_REQUEST_LIMIT', describe(errorCode));
  }
  if (errorCode && requestCodes[errorCode]) return { ...sfFailure(`SF_${errorCode}`, describe(errorCode)) };

  const httpStatus = status ?? (errorCode ? Number(/^ERROR_HTTP_(\d{3})$/.exec(errorCode)?.[1]) || undefined : undefined);
  if (httpStatus !== undefined && httpStatus >= 400) {
    const own = ownCodes[`SF_HTTP_${httpStatus}`] ? `SF_HTTP_${httpStatus}` : httpStatus >= 500 ? 'SF_HTTP_5XX' : 'SF_HTTP_4XX';
    const failure = sfFailure(own, describe(errorCode ?? `HTTP ${httpStatus}`));
    return errorCode ? { ...failure, code: `SF_${errorCode}` } : failure;
  }

  // No answer at all: node-fetch reports socket failures as FetchError with the errno in `code`.
  const socketCode = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'AbortError' || /aborted due to timeout/i.test(text)) return sfFailure('SF_TIMEOUT', describe('timeout'));
  if (socketCode === 'ENOTFOUND') return sfFailure('SF_DNS', describe(socketCode));
  if (e.name === 'FetchError' || (socketCode && NETWORK_CODES.has(socketCode))) {
    return sfFailure('SF_NETWORK', describe(socketCode ?? 'network error'));
  }
  return sfFailure('SF_UNKNOWN', describe(errorCode ?? (typeof e.name === 'string' ? e.name : 'error')));
}
