/**
 * A loopback Salesforce for tests and benchmarks: a real node:http server speaking the REST wire
 * protocol jsforce expects (facts and sources: WIRE.md). Every request under `/services/data/vNN.N`
 * goes through the same gate, in this order: an injected fault, the bearer token (401), the daily
 * API quota (403); then it counts against the quota and its route answers, with `Sforce-Limit-Info`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestError, errorBody, NOT_FOUND_MESSAGE } from './errors.js';
import { CorruptionQueue, FaultQueue, matches } from './faults.js';
import { acceptsGzip, readBody, sendJson } from './http.js';
import { SalesforceOrg } from './org/org.js';
import type { ObjectSpec } from './org/schema.js';
import { DATA_PATH, TOKEN_PATH, findDataRoute } from './router.js';
import { limitInfoHeader, quotaExceeded } from './routes/limits.js';
import { answerTokenRequest, sessionInvalid } from './routes/oauth.js';
import type { DataCall, Reply, Route } from './routes/route.js';

export type { FieldSpec, FieldState, ObjectSpec } from './org/schema.js';
export type { RecordRule } from './org/record-rules.js';
export type { Route } from './routes/route.js';
export { SalesforceOrg } from './org/org.js';
export { MAX_RECORDS_PER_CALL } from './routes/collections.js';

export interface SalesforceEmulatorOptions {
  objects?: ObjectSpec[];
  /** The token valid at start. Default: `emulator-access-token`. */
  accessToken?: string;
  /** Refresh grants must carry these; without `refreshToken` every refresh is refused. */
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** DailyApiRequests Max. Default: 15000. */
  apiLimit?: number;
  /** Delay before answering each write call; can be changed later through `latencyMs`. */
  latencyMs?: number;
  host?: string;
  port?: number;
}

export const DEFAULT_ACCESS_TOKEN = 'emulator-access-token';

export interface WriteCall {
  route: Route;
  method: string;
  object: string | null;
  records: number;
  status: number;
}

/** A data call that writes nothing: describe, limits, a query page, a Bulk query poll or result page. */
export interface ReadCall {
  route: Route;
  method: string;
  object: string | null;
  /** Records the answer carried (a query page's records, a result page's rows); 0 for the rest. */
  records: number;
  status: number;
}

export interface EmulatorStats {
  /** Every HTTP request received, token requests included. */
  requests: number;
  /** Write calls (create, update, upsert, delete), faulted ones included. */
  writeCalls: number;
  /** Records (or ids) carried by those calls. */
  writeRecords: number;
  /** Largest record count any write call carried. */
  maxRecordsPerCall: number;
  refreshes: number;
  /** Requests answered 401 INVALID_SESSION_ID. */
  unauthorized: number;
}

export interface SalesforceEmulator {
  url: string;
  port: number;
  org: SalesforceOrg;
  latencyMs: number;
  stats: EmulatorStats;
  /** One entry per write call, in arrival order (small: no record contents). */
  writes: WriteCall[];
  /** One entry per other data call (queries, describes, Bulk query jobs…), in arrival order, faulted ones included. */
  reads: ReadCall[];
  /** API calls counted against the daily limit, as in `Sforce-Limit-Info`. */
  apiUsed: number;
  apiLimit: number;
  /** The bearer tokens accepted now. */
  validTokens: Set<string>;
  /**
   * Answer the next `count` requests of `route` (or of any of several routes, sharing the count) with
   * `status` and `body` (JSON), touching nothing.
   */
  failNext(route: Route | Route[], count: number, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** The next `count` queryMore pages or Bulk result pages answer 400 INVALID_QUERY_LOCATOR (as if the cursor had expired). */
  failQueryLocatorNext(count?: number): void;
  /** The next `count` getUpdated/getDeleted calls answer 400 INVALID_REPLICATION_DATE. */
  failReplicationNext(count?: number): void;
  /** The next `count` calls of `route` (default any) answer 401 INVALID_SESSION_ID; the token stays valid, so a refresh and replay succeed. */
  rejectSessionNext(count?: number, route?: Route | Route[]): void;
  /**
   * The next `count` answers of `route` to a request that accepts gzip carry `Content-Encoding: gzip`
   * over bytes no gzip reader can decode; a request sent without gzip is answered normally and
   * does not use the count up.
   */
  corruptGzipNext(route: Route | Route[], count?: number): void;
  /** Every current token stops working (401 INVALID_SESSION_ID) until a refresh grant mints a new one. */
  expireToken(): void;
  /**
   * The refresh token stops working, as when an admin revokes the connected app's access: every grant
   * answers 400 invalid_grant. `issueRefreshToken` gives a new one (the user authorised the app again).
   */
  revokeRefreshToken(): void;
  issueRefreshToken(token: string): void;
  /** Every data call answers 403 REQUEST_LIMIT_EXCEEDED (TotalRequests) while set. */
  exhaustApiLimit(exhausted?: boolean): void;
  /**
   * Runs `change` just before the next write call is handled: a schema or org change that lands
   * between a client's describe and its writes (a field deleted, the API quota used up).
   */
  beforeNextWrite(change: () => void): void;
  /** Runs `change` just before the `n`-th write call from now (1 = the next one), e.g. a field deleted after the third write. */
  beforeWriteNumber(n: number, change: () => void): void;
  /**
   * Runs `change` just before the `n`-th call of `route` (or of any of several routes) from now is
   * answered, faults included: e.g. a field made unreadable before the third queryMore page.
   */
  beforeCall(route: Route | Route[], n: number, change: () => void): void;
  resetStats(): void;
  close(): Promise<void>;
}

const freshStats = (): EmulatorStats => ({
  requests: 0,
  writeCalls: 0,
  writeRecords: 0,
  maxRecordsPerCall: 0,
  refreshes: 0,
  unauthorized: 0,
});

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const accessToken = options.accessToken ?? DEFAULT_ACCESS_TOKEN;
  const org = new SalesforceOrg(options.objects);
  const faults = new FaultQueue();
  const corruptions = new CorruptionQueue();
  let pendingChanges: Array<() => void> = [];
  /** Changes waiting for the n-th call of some routes: `remaining` counts down on each such call. */
  let routeChanges: Array<{ route: Route | Route[]; remaining: number; change: () => void }> = [];
  let tokenSerial = 0;
  let exhausted = false;
  const oauthClient = { refreshToken: options.refreshToken, clientId: options.clientId, clientSecret: options.clientSecret };

  const handleToken = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    const fault = faults.take('token');
    if (fault) return sendJson(res, fault.status, fault.body, fault.headers);
    const reply = answerTokenRequest(req.method ?? '', form, oauthClient, emulator.url, () => {
      const token = `${accessToken}-refreshed-${++tokenSerial}`;
      emulator.validTokens.add(token);
      emulator.stats.refreshes++;
      return token;
    });
    sendJson(res, reply.status, reply.body);
  };

  const handleData = async (req: IncomingMessage, res: ServerResponse, version: string, path: string, query: URLSearchParams) => {
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const found = findDataRoute(method, path);
    const call: DataCall | undefined = found?.route.open({ version, params: found.params, query, headers: req.headers, body });
    const writeRecords = call?.writeRecords;
    if (writeRecords !== undefined) {
      const changes = pendingChanges;
      pendingChanges = [];
      for (const change of changes) change();
      emulator.stats.writeCalls++;
      emulator.stats.writeRecords += writeRecords;
      emulator.stats.maxRecordsPerCall = Math.max(emulator.stats.maxRecordsPerCall, writeRecords);
    }
    const reply = ({ status, body, contentType, records, headers: routeHeaders }: Reply, headers: Record<string, string> = {}) => {
      if (writeRecords !== undefined) {
        emulator.writes.push({ route: found!.route.route, method, object: call!.object, records: writeRecords, status });
      } else if (found) {
        emulator.reads.push({ route: found.route.route, method, object: call!.object, records: records ?? 0, status });
      }
      const delayMs = writeRecords !== undefined ? emulator.latencyMs : 0;
      // Salesforce compresses any answer whose request accepts gzip; node-fetch (jsforce) always does.
      const compression = !acceptsGzip(req) ? 'none' : found && corruptions.take(found.route.route) ? 'corrupt-gzip' : 'gzip';
      const allHeaders = { ...limitInfoHeader(emulator.apiUsed, emulator.apiLimit), ...routeHeaders, ...headers };
      sendJson(res, status, body, allHeaders, delayMs, contentType, compression);
    };

    const route = found?.route.route;
    if (route) {
      const due = routeChanges.filter((c) => matches(c.route, route) && --c.remaining === 0);
      routeChanges = routeChanges.filter((c) => c.remaining > 0);
      for (const { change } of due) change();
    }

    const fault = faults.take(route ?? 'any');
    if (fault) return reply(fault, fault.headers);

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !emulator.validTokens.has(token)) {
      emulator.stats.unauthorized++;
      return reply(sessionInvalid);
    }
    if (exhausted || emulator.apiUsed >= emulator.apiLimit) return reply(quotaExceeded);
    emulator.apiUsed++;

    if (!call) return reply({ status: 404, body: errorBody('NOT_FOUND', NOT_FOUND_MESSAGE) });
    try {
      return reply(call.answer({ org, apiUsed: emulator.apiUsed, apiLimit: emulator.apiLimit }));
    } catch (error) {
      if (error instanceof RequestError) return reply({ status: error.status, body: errorBody(error.errorCode, error.message) });
      throw error;
    }
  };

  const server = createServer((req, res) => {
    emulator.stats.requests++;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const data = DATA_PATH.exec(url.pathname);
    const handled =
      url.pathname === TOKEN_PATH
        ? handleToken(req, res)
        : data
          ? handleData(req, res, data[1], data[2] ?? '/', url.searchParams)
          : Promise.resolve(sendJson(res, 404, errorBody('NOT_FOUND', NOT_FOUND_MESSAGE)));
    handled.catch((error: unknown) => {
      sendJson(res, 500, errorBody('UNKNOWN_EXCEPTION', `emulator bug: ${(error as Error).message}`));
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const emulator: SalesforceEmulator = {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    org,
    latencyMs: options.latencyMs ?? 0,
    stats: freshStats(),
    writes: [],
    reads: [],
    apiUsed: 0,
    apiLimit: options.apiLimit ?? 15_000,
    validTokens: new Set([accessToken]),
    failNext(route, count, status, body = errorBody('UNKNOWN_EXCEPTION', `injected ${status}`), headers = {}) {
      faults.add({ route, remaining: count, status, body, headers });
    },
    failQueryLocatorNext(count = 1) {
      emulator.failNext(['queryMore', 'bulkQueryResults'], count, 400, errorBody('INVALID_QUERY_LOCATOR', 'invalid query locator'));
    },
    failReplicationNext(count = 1) {
      emulator.failNext(['getUpdated', 'getDeleted'], count, 400, errorBody('INVALID_REPLICATION_DATE', 'startDate before org replication enabled date'));
    },
    rejectSessionNext(count = 1, route = 'any') {
      emulator.failNext(route, count, sessionInvalid.status, sessionInvalid.body);
    },
    corruptGzipNext(route, count = 1) {
      corruptions.add(route, count);
    },
    expireToken() {
      emulator.validTokens.clear();
    },
    revokeRefreshToken() {
      oauthClient.refreshToken = undefined;
    },
    issueRefreshToken(token) {
      oauthClient.refreshToken = token;
    },
    exhaustApiLimit(value = true) {
      exhausted = value;
    },
    beforeNextWrite(change) {
      pendingChanges.push(change);
    },
    beforeWriteNumber(n, change) {
      if (n <= 1) emulator.beforeNextWrite(change);
      else emulator.beforeNextWrite(() => emulator.beforeWriteNumber(n - 1, change));
    },
    beforeCall(route, n, change) {
      routeChanges.push({ route, remaining: Math.max(1, n), change });
    },
    resetStats() {
      emulator.stats = freshStats();
      emulator.writes = [];
      emulator.reads = [];
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
