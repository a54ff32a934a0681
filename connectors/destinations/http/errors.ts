/**
 * The http destination's error catalogue: response status or network failure → failure class and remediation.
 * Codes are `HTTP_<status>`, `HTTP_TIMEOUT`, `HTTP_NETWORK`, and a few of the connector's own;
 * per-row codes sent by the receiver are kept as the row's code and classified as `rejected`, except the
 * few this catalogue names (`INVALID_VALUE`, `VALUE_TOO_LONG`, `REQUIRED_FIELD_MISSING` block the row;
 * `LOCKED` is transient), so a receiver can say which refusals only a change of the values can fix.
 */
import type { Failure } from '../../destination.js';
import { defineCatalogue } from '../../kit/catalogue.js';

export const httpCatalogue = defineCatalogue({
  HTTP_TIMEOUT: { errorClass: 'transient', remediation: 'The receiver did not answer within timeout_ms; raise it or lower batch_size.' },
  HTTP_NETWORK: {
    errorClass: 'transient',
    remediation: 'The receiver could not be reached; check that it is running and the url host and port.',
  },
  HTTP_DNS: { errorClass: 'fatal', remediation: 'The url host name does not resolve; fix the host in the destination url.' },
  HTTP_CONFIG: { errorClass: 'fatal', remediation: 'Fix the destination settings in the project file.' },
  HTTP_ROW_REJECTED: { errorClass: 'rejected', remediation: 'The receiver refused this row; fix its values in the model.' },
  HTTP_NO_KEY: {
    errorClass: 'rejected',
    remediation: 'Give every row a non-null external_id; a row never acknowledged with one cannot be deleted by it.',
    blocks: true,
  },
  HTTP_401: { errorClass: 'auth', remediation: 'The receiver refused the credentials; fix the token in the destination headers.' },
  HTTP_403: { errorClass: 'auth', remediation: 'The credentials lack permission for this endpoint; grant it or use another token.' },
  HTTP_404: { errorClass: 'fatal', remediation: 'Nothing answers at this url; fix the destination url.' },
  HTTP_405: { errorClass: 'fatal', remediation: 'The url does not accept POST; point it at the sync endpoint.' },
  HTTP_408: { errorClass: 'transient', remediation: 'The receiver timed out reading the request; the rows are retried.' },
  HTTP_422: {
    errorClass: 'rejected',
    remediation: 'The receiver found the values invalid; fix them in the model: the row is sent again once they change.',
    blocks: true,
  },
  HTTP_413: { errorClass: 'rejected', remediation: 'The request is too large for the receiver; lower batch_size.' },
  HTTP_429: { errorClass: 'rate_limited', remediation: 'The receiver asked to slow down; lower concurrency if this persists.' },
  // Every other status, by range: the failure keeps `HTTP_<status>` as its code.
  HTTP_5XX: { errorClass: 'transient', remediation: 'The receiver failed; the rows are retried.' },
  HTTP_4XX: { errorClass: 'rejected', remediation: 'The receiver refused the request; fix the row values it names.' },
  // Per-row codes a receiver may send in its `results` (see README, http destination).
  INVALID_VALUE: {
    errorClass: 'rejected',
    remediation: 'The receiver refused a value of this row; fix it in the model: the row is sent again once it changes.',
    blocks: true,
  },
  VALUE_TOO_LONG: {
    errorClass: 'rejected',
    remediation: 'A value is longer than the receiver allows; shorten it in the model: the row is sent again once it changes.',
    blocks: true,
  },
  REQUIRED_FIELD_MISSING: {
    errorClass: 'rejected',
    remediation: 'The receiver requires a field this row has no value for; map a non-null value.',
    blocks: true,
  },
  LOCKED: { errorClass: 'transient', remediation: 'The receiver had the record locked; the row is retried.' },
  HTTP_3XX: { errorClass: 'fatal', remediation: 'The url redirects; set it to the final location.' },
  HTTP_OTHER: { errorClass: 'fatal', remediation: 'The receiver gave an unexpected answer; check the destination url.' },
});

/** The failure for a non-2xx answer to a whole request. */
export function statusFailure(status: number, message: string, retryAfterMs?: number): Failure {
  const code = `HTTP_${status}`;
  const like = httpCatalogue.has(code)
    ? code
    : status >= 500
      ? 'HTTP_5XX'
      : status >= 400
        ? 'HTTP_4XX'
        : status >= 300
          ? 'HTTP_3XX'
          : 'HTTP_OTHER';
  return httpCatalogue.passthrough(code, like, message, { retryAfterMs });
}

/** Receiver codes the catalogue classifies itself; any other is a plain refusal. */
const RECEIVER_CODES = new Set(['INVALID_VALUE', 'VALUE_TOO_LONG', 'REQUIRED_FIELD_MISSING', 'LOCKED']);

/** A row the receiver refused in a 2xx `results` body; its own code is kept when it sent one. */
export function rowFailure(code: string | undefined, message: string): Failure {
  if (code !== undefined && RECEIVER_CODES.has(code) && httpCatalogue.has(code)) return httpCatalogue.failure(code, message);
  return httpCatalogue.passthrough(code ?? 'HTTP_ROW_REJECTED', 'HTTP_ROW_REJECTED', message);
}
