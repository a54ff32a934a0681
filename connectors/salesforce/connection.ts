/**
 * Opens a jsforce Connection whose every HTTP call is counted into the caller's meter, so `write`
 * can report the calls it really made (a token refresh and its replay included).
 *
 * jsforce's transport re-sends GET and DELETE answers of 429/5xx up to 5 times with 0.5–8 s waits
 * (about 15 s, uncounted). Writes turn that off: the core's retry policy owns retries, and a
 * delete stuck in jsforce's back-off would hold a worker without the run knowing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Connection, HttpRequest, HttpRequestOptions } from 'jsforce';
import type { SalesforceCredentials } from './credentials.js';

/** No single collection call of ≤200 records should take this long; node-fetch's own default is 30 minutes. */
const REQUEST_TIMEOUT_MS = 120_000;

export interface CallMeter {
  /** HTTP calls made, refreshes included. */
  calls: number;
  /** Status of the last answer, which jsforce's errors do not keep. */
  lastStatus?: number;
  /** Headers of the last answer (a Bulk API query page's `Sforce-Locator`). */
  lastHeaders?: Record<string, string>;
}

const meters = new AsyncLocalStorage<CallMeter>();

/** Per connection: tells its refresh guard that a call made outside jsforce's transport was answered. */
const answeredHooks = new WeakMap<Connection, () => void>();

/** A call this process made with the connection's token outside jsforce (the source's reads) was answered below 400. */
export function noteAnswered(conn: Connection): void {
  answeredHooks.get(conn)?.();
}

/** Runs `work` with every HTTP call it makes counted into `meter`. */
export function metered<T>(meter: CallMeter, work: () => Promise<T>): Promise<T> {
  return meters.run(meter, work);
}

export interface OpenOptions {
  /** Keep jsforce's own re-sending of failed GET/DELETE calls (for `check`, which has no retry policy). */
  transportRetries: boolean;
}

/**
 * jsforce, loaded on first use rather than at the top: the CLI imports every connector, and jsforce
 * takes ~250 ms to load (310 ms in a write thread at its first connect, measured on 2026-11-27). Its
 * core and the one API module used here (Bulk API 2.0, `conn.bulk2`) rather than its index, which
 * loads every API (streaming, metadata, SOAP, …): 98 ms against 207 ms.
 */
export const loadJsforce = async () => {
  const core = await import('jsforce/lib/core.js');
  await import('jsforce/lib/api/bulk2.js');
  return core;
};

export async function openConnection(target: SalesforceCredentials, options: OpenOptions): Promise<Connection> {
  const { Connection: JsforceConnection } = await loadJsforce();
  const { oauth } = target;
  // jsforce refreshes on a 401 and replays the call; a token refused again right after a refresh would
  // loop, so a second refresh with no successful answer in between is refused.
  let refreshedSinceSuccess = false;
  const conn = new JsforceConnection({
    instanceUrl: target.instanceUrl,
    accessToken: target.accessToken,
    version: target.apiVersion,
    ...(oauth && {
      oauth2: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, loginUrl: oauth.loginUrl },
      refreshFn: (c: Connection, callback: (err: Error | null | undefined, accessToken?: string) => void) => {
        if (refreshedSinceSuccess) {
          callback(new Error('Salesforce refused the access token it had just issued'));
          return;
        }
        const meter = meters.getStore();
        if (meter) meter.calls++;
        c.oauth2.refreshToken(oauth.refreshToken).then(
          (response) => {
            refreshedSinceSuccess = true;
            callback(undefined, response.access_token);
          },
          (error: Error) => callback(error),
        );
      },
    }),
  });

  const transport = conn._transport;
  const counted = Object.create(transport) as typeof transport;
  counted.httpRequest = (request: HttpRequest, requestOptions?: HttpRequestOptions) => {
    const meter = meters.getStore();
    if (meter) meter.calls++;
    const tuned: HttpRequestOptions = { ...requestOptions, timeout: REQUEST_TIMEOUT_MS };
    if (!options.transportRetries) tuned.retry = { ...requestOptions?.retry, maxRetries: 0 };
    const response = transport.httpRequest(request, tuned);
    response.then(
      (answer) => {
        if (meter) {
          meter.lastStatus = answer.statusCode;
          meter.lastHeaders = answer.headers;
        }
        if (answer.statusCode < 400) refreshedSinceSuccess = false;
      },
      () => {},
    );
    return response;
  };
  conn._transport = counted;
  answeredHooks.set(conn, () => {
    refreshedSinceSuccess = false;
  });
  return conn;
}
