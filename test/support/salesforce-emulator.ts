/**
 * A loopback Salesforce for tests and benchmarks: a real node:http server speaking the REST wire
 * protocol jsforce expects (docs: /work/shared/reference/salesforce-hubspot-api.md §1–4) — OAuth
 * refresh, describe, sObject Collections create/update/upsert/delete, a one-page SOQL subset,
 * `/limits`, and `Sforce-Limit-Info` on every data response.
 *
 * Faults are count-based, never random: jsforce re-sends failed GETs on its own, so "the next N
 * answers of route X" keeps every run of a test identical.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestError, SalesforceOrg, type ObjectSpec } from './salesforce-org.js';

export type { FieldSpec, FieldState, ObjectSpec, RecordRule } from './salesforce-org.js';

export type Route =
  | 'token'
  | 'describeGlobal'
  | 'describe'
  | 'limits'
  | 'query'
  | 'create'
  | 'update'
  | 'upsert'
  | 'delete'
  | 'any';

const WRITE_ROUTES: ReadonlySet<Route> = new Set(['create', 'update', 'upsert', 'delete']);

/** sObject Collections take at most 200 records (or ids) per call. */
export const MAX_RECORDS_PER_CALL = 200;

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

export interface WriteCall {
  route: Route;
  method: string;
  object: string | null;
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
  /** API calls counted against the daily limit, as in `Sforce-Limit-Info`. */
  apiUsed: number;
  apiLimit: number;
  /** The bearer tokens accepted now. */
  validTokens: Set<string>;
  /** Answer the next `count` requests of `route` with `status` and `body` (JSON), touching nothing. */
  failNext(route: Route, count: number, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** Every current token stops working (401 INVALID_SESSION_ID) until a refresh grant mints a new one. */
  expireToken(): void;
  /** Every data call answers 403 REQUEST_LIMIT_EXCEEDED (TotalRequests) while set. */
  exhaustApiLimit(exhausted?: boolean): void;
  /**
   * Runs `change` just before the next write call is handled: a schema or org change that lands
   * between a client's describe and its writes (a field deleted, the API quota used up).
   */
  beforeNextWrite(change: () => void): void;
  resetStats(): void;
  close(): Promise<void>;
}

interface Fault {
  route: Route;
  remaining: number;
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const DATA_PATH = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/;

const sfError = (errorCode: string, message: string) => [{ message, errorCode }];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function routeOf(method: string, path: string): { route: Route; object: string | null; keyField?: string } | null {
  if (method === 'GET' && path === '/sobjects') return { route: 'describeGlobal', object: null };
  if (method === 'GET' && path === '/limits') return { route: 'limits', object: null };
  if (method === 'GET' && path === '/query') return { route: 'query', object: null };
  const describe = /^\/sobjects\/(\w+)\/describe$/.exec(path);
  if (method === 'GET' && describe) return { route: 'describe', object: describe[1] };
  if (path === '/composite/sobjects') {
    if (method === 'POST') return { route: 'create', object: null };
    if (method === 'PATCH') return { route: 'update', object: null };
    if (method === 'DELETE') return { route: 'delete', object: null };
  }
  const upsert = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(path);
  if (method === 'PATCH' && upsert) return { route: 'upsert', object: upsert[1], keyField: upsert[2] };
  return null;
}

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const org = new SalesforceOrg(options.objects);
  const faults: Fault[] = [];
  let pendingChanges: Array<() => void> = [];
  let tokenSerial = 0;
  let exhausted = false;
  const freshStats = (): EmulatorStats => ({
    requests: 0,
    writeCalls: 0,
    writeRecords: 0,
    maxRecordsPerCall: 0,
    refreshes: 0,
    unauthorized: 0,
  });

  const takeFault = (route: Route): Fault | undefined => {
    const index = faults.findIndex((f) => f.route === route || f.route === 'any');
    if (index === -1) return undefined;
    const fault = faults[index];
    if (--fault.remaining === 0) faults.splice(index, 1);
    return fault;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, delayMs = 0) => {
    const write = () => {
      if (res.destroyed) return;
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'content-type': JSON_TYPE, ...headers });
      res.end(text);
    };
    if (delayMs > 0) setTimeout(write, delayMs);
    else write();
  };

  const handleToken = async (req: IncomingMessage, res: ServerResponse) => {
    const form = new URLSearchParams(await readBody(req));
    const fault = takeFault('token');
    if (fault) return send(res, fault.status, fault.body, fault.headers);
    const ok =
      req.method === 'POST' &&
      form.get('grant_type') === 'refresh_token' &&
      options.refreshToken !== undefined &&
      form.get('refresh_token') === options.refreshToken &&
      (options.clientId === undefined || form.get('client_id') === options.clientId) &&
      (options.clientSecret === undefined || form.get('client_secret') === options.clientSecret);
    if (!ok) return send(res, 400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const token = `${options.accessToken ?? 'emulator-access-token'}-refreshed-${++tokenSerial}`;
    emulator.validTokens.add(token);
    emulator.stats.refreshes++;
    send(res, 200, {
      access_token: token,
      instance_url: emulator.url,
      id: `${emulator.url}/id/00D000000000001AAA/005000000000001AAA`,
      token_type: 'Bearer',
      issued_at: String(Date.now()),
      signature: 'emulator',
      scope: 'api refresh_token',
    });
  };

  const handleData = async (req: IncomingMessage, res: ServerResponse, version: string, path: string, query: URLSearchParams) => {
    const method = req.method ?? 'GET';
    const text = await readBody(req);
    const limitHeader = () => ({ 'sforce-limit-info': `api-usage=${emulator.apiUsed}/${emulator.apiLimit}` });
    const found = routeOf(method, path);
    const route = found?.route;
    const isWrite = route !== undefined && WRITE_ROUTES.has(route);

    let records: Record<string, unknown>[] = [];
    let ids: string[] = [];
    let parsed: unknown;
    if (isWrite && route !== 'delete') {
      try {
        parsed = JSON.parse(text);
        records = Array.isArray((parsed as { records?: unknown }).records) ? (parsed as { records: Record<string, unknown>[] }).records : [];
      } catch {
        parsed = undefined;
      }
    }
    if (route === 'delete') ids = (query.get('ids') ?? '').split(',').filter((id) => id !== '');
    if (isWrite) {
      const changes = pendingChanges;
      pendingChanges = [];
      for (const change of changes) change();
      const count = route === 'delete' ? ids.length : records.length;
      emulator.stats.writeCalls++;
      emulator.stats.writeRecords += count;
      emulator.stats.maxRecordsPerCall = Math.max(emulator.stats.maxRecordsPerCall, count);
    }
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (isWrite) {
        emulator.writes.push({ route: route!, method, object: found!.object, records: route === 'delete' ? ids.length : records.length, status });
      }
      send(res, status, body, { ...limitHeader(), ...headers }, isWrite ? emulator.latencyMs : 0);
    };

    const fault = takeFault(route ?? 'any');
    if (fault) return reply(fault.status, fault.body, fault.headers);

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !emulator.validTokens.has(token)) {
      emulator.stats.unauthorized++;
      return reply(401, sfError('INVALID_SESSION_ID', 'Session expired or invalid'));
    }
    if (exhausted || emulator.apiUsed >= emulator.apiLimit) {
      return reply(403, sfError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
    }
    emulator.apiUsed++;

    if (!found) return reply(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    if (isWrite && route !== 'delete' && parsed === undefined) {
      return reply(400, sfError('JSON_PARSER_ERROR', 'The request body is not valid JSON'));
    }
    const count = route === 'delete' ? ids.length : records.length;
    if (isWrite && count > MAX_RECORDS_PER_CALL) {
      return reply(400, sfError('EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call'));
    }
    // sObject Collections exist from v42.0; upsert through them from v46.0.
    if ((isWrite && Number(version) < 42) || (route === 'upsert' && Number(version) < 46)) {
      return reply(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    }
    const allOrNone = route === 'delete' ? query.get('allOrNone') === 'true' : (parsed as { allOrNone?: unknown })?.allOrNone === true;

    try {
      switch (route) {
        case 'describeGlobal':
          return reply(200, org.describeGlobal());
        case 'describe': {
          const described = org.describe(found.object!);
          return described ? reply(200, described) : reply(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
        }
        case 'limits':
          return reply(200, {
            DailyApiRequests: { Max: emulator.apiLimit, Remaining: Math.max(0, emulator.apiLimit - emulator.apiUsed) },
            DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
            DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
            DataStorageMB: { Max: 5, Remaining: 5 },
          });
        case 'query':
          return reply(200, org.query(query.get('q') ?? '', version));
        case 'create':
          return reply(200, org.create(records, allOrNone));
        case 'update':
          return reply(200, org.update(records, allOrNone));
        case 'upsert':
          return reply(200, org.upsert(found.object!, found.keyField!, records, allOrNone));
        case 'delete':
          return reply(200, org.destroy(ids, allOrNone));
      }
    } catch (error) {
      if (error instanceof RequestError) return reply(error.status, sfError(error.errorCode, error.message));
      throw error;
    }
  };

  const server = createServer((req, res) => {
    emulator.stats.requests++;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const handled =
      url.pathname === '/services/oauth2/token'
        ? handleToken(req, res)
        : (() => {
            const data = DATA_PATH.exec(url.pathname);
            if (!data) {
              send(res, 404, sfError('NOT_FOUND', 'The requested resource does not exist'));
              return Promise.resolve();
            }
            return handleData(req, res, data[1], data[2] ?? '/', url.searchParams);
          })();
    handled.catch((error: unknown) => {
      send(res, 500, sfError('UNKNOWN_EXCEPTION', `emulator bug: ${(error as Error).message}`));
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
    apiUsed: 0,
    apiLimit: options.apiLimit ?? 15_000,
    validTokens: new Set([options.accessToken ?? 'emulator-access-token']),
    failNext(route, count, status, body = sfError('UNKNOWN_EXCEPTION', `injected ${status}`), headers = {}) {
      if (count > 0) faults.push({ route, remaining: count, status, body, headers });
    },
    expireToken() {
      emulator.validTokens.clear();
    },
    exhaustApiLimit(value = true) {
      exhausted = value;
    },
    beforeNextWrite(change) {
      pendingChanges.push(change);
    },
    resetStats() {
      emulator.stats = freshStats();
      emulator.writes = [];
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
