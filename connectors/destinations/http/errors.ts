/**
 * The http destination's error catalogue: response status or network failure → failure class and remediation.
 * Codes are `HTTP_<status>`, `HTTP_TIMEOUT`, `HTTP_NETWORK`, and a few of the connector's own;
 * per-row codes sent by the receiver are passed through as `rejected`.
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
  },
  HTTP_401: { errorClass: 'auth', remediation: 'The receiver refused the credentials; fix the token in the destination headers.' },
  HTTP_403: { errorClass: 'auth', remediation: 'The credentials lack permission for this endpoint; grant it or use another token.' },
  HTTP_404: { errorClass: 'fatal', remediation: 'Nothing answers at this url; fix the destination url.' },
  HTTP_405: { errorClass: 'fatal', remediation: 'The url does not accept POST; point it at the sync endpoint.' },
  HTTP_408: { errorClass: 'transient', remediation: 'The receiver timed out reading the request; the rows are retried.' },
  HTTP_413: { errorClass: 'rejected', remediation: 'The request is too large for the receiver; lower batch_size.' },
  HTTP_429: { errorClass: 'rate_limited', remediation: 'The receiver asked to slow down; lower concurrency if this persists.' },
  // Every other status, by range: the failure keeps `HTTP_<status>` as its code.
  HTTP_5XX: { errorClass: 'transient', remediation: 'The receiver failed; the rows are retried.' },
  HTTP_4XX: { errorClass: 'rejected', remediation: 'The receiver refused the request; fix the row values it names.' },
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

/** A row the receiver refused in a 2xx `results` body; its own code is kept when it sent one. */
export function rowFailure(code: string | undefined, message: string): Failure {
  return httpCatalogue.passthrough(code ?? 'HTTP_ROW_REJECTED', 'HTTP_ROW_REJECTED', message);
}
