/**
 * The http destination's error catalogue: response status or network failure → failure class and remediation.
 * Codes are `HTTP_<status>`, `HTTP_TIMEOUT`, `HTTP_NETWORK`, and a few of the connector's own;
 * per-row codes sent by the receiver are passed through as `rejected`.
 */
import type { Failure, FailureClass } from '../../destination.js';

interface Entry {
  errorClass: FailureClass;
  remediation: string;
}

const entry = (errorClass: FailureClass, remediation: string): Entry => ({ errorClass, remediation });

const ownCodes: Record<string, Entry> = {
  HTTP_TIMEOUT: entry('transient', 'The receiver did not answer within timeout_ms; raise it or lower batch_size.'),
  HTTP_NETWORK: entry('transient', 'The receiver could not be reached; check that it is running and the url host and port.'),
  HTTP_DNS: entry('fatal', 'The url host name does not resolve; fix the host in the destination url.'),
  HTTP_CONFIG: entry('fatal', 'Fix the destination settings in the project file.'),
  HTTP_ROW_REJECTED: entry('rejected', 'The receiver refused this row; fix its values in the model.'),
  HTTP_NO_KEY: entry('rejected', 'Give every row a non-null external_id; a row never acknowledged with one cannot be deleted by it.'),
  HTTP_401: entry('auth', 'The receiver refused the credentials; fix the token in the destination headers.'),
  HTTP_403: entry('auth', 'The credentials lack permission for this endpoint; grant it or use another token.'),
  HTTP_404: entry('fatal', 'Nothing answers at this url; fix the destination url.'),
  HTTP_405: entry('fatal', 'The url does not accept POST; point it at the sync endpoint.'),
  HTTP_408: entry('transient', 'The receiver timed out reading the request; the rows are retried.'),
  HTTP_413: entry('rejected', 'The request is too large for the receiver; lower batch_size.'),
  HTTP_429: entry('rate_limited', 'The receiver asked to slow down; lower concurrency if this persists.'),
};

function statusEntry(status: number): Entry {
  const known = ownCodes[`HTTP_${status}`];
  if (known) return known;
  if (status >= 500) return entry('transient', 'The receiver failed; the rows are retried.');
  if (status >= 400) return entry('rejected', 'The receiver refused the request; fix the row values it names.');
  if (status >= 300) return entry('fatal', 'The url redirects; set it to the final location.');
  return entry('fatal', 'The receiver gave an unexpected answer; check the destination url.');
}

/** The failure for one of the connector's own codes. */
export function httpFailure(code: string, message: string): Failure {
  const known = ownCodes[code] ?? entry('fatal', 'See the message.');
  return { errorClass: known.errorClass, code, message, remediation: known.remediation };
}

/** The failure for a non-2xx answer to a whole request. */
export function statusFailure(status: number, message: string, retryAfterMs?: number): Failure {
  const failure: Failure = { ...statusEntry(status), code: `HTTP_${status}`, message };
  if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
  return failure;
}

/** A row the receiver refused in a 2xx `results` body; its own code is kept when it sent one. */
export function rowFailure(code: string | undefined, message: string): Failure {
  const remediation = ownCodes.HTTP_ROW_REJECTED.remediation;
  return { errorClass: 'rejected', code: code ?? 'HTTP_ROW_REJECTED', message, remediation };
}
