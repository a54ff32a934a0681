import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncMode } from '../core/config/types.js';
import { DestinationError, type DestinationClient, type OutboundRow, type WriteTarget } from '../connectors/destination.js';
import { httpDestination } from '../connectors/destinations/http/http-destination.js';
import { parseRetryAfter } from '../connectors/destinations/http/retry-after.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { closedPort } from './support/closed-port.js';

const TOKEN = 'tok_9f8e7d6c5b4a';
const sinks: HttpSink[] = [];
const clients: DestinationClient[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function sink(options?: Parameters<typeof startHttpSink>[0]): Promise<HttpSink> {
  const s = await startHttpSink(options);
  sinks.push(s);
  return s;
}

interface TargetOptions {
  mode?: SyncMode;
  externalId?: string;
  keyField?: string | null;
  fields?: string[];
  settings?: Record<string, unknown>;
}

function target(url: string, options: TargetOptions = {}): WriteTarget {
  return {
    destination: {
      name: 'crm_hook',
      type: 'http',
      settings: { url, headers: { authorization: `Bearer ${TOKEN}`, 'x-team': 'growth' }, ...options.settings },
    },
    sync: {
      name: 'users_to_crm',
      mode: options.mode ?? 'upsert',
      keyField: options.keyField === undefined ? 'id' : options.keyField,
      fields: options.fields ?? ['id', 'email'],
      settings: options.externalId ? { external_id: options.externalId } : {},
    },
  };
}

async function connect(t: WriteTarget): Promise<DestinationClient> {
  const client = await httpDestination.connect(t);
  clients.push(client);
  return client;
}

function row(key: string, fields: Record<string, unknown> = {}, destinationId: string | null = null): OutboundRow {
  return { key, fields, destinationId };
}

const users = (...keys: string[]) => keys.map((k) => row(k, { id: Number(k), email: `${k}@x.io` }));

async function failure(promise: Promise<unknown>): Promise<DestinationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DestinationError);
  return error as DestinationError;
}

/** A receiver answering every request with a fixed status, headers and body. */
async function fixedServer(status: number, body = '', headers: Record<string, string> = {}): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

/** A receiver answering 200 with `body` and `headers`, keeping each request's headers. */
async function recordingServer(body: string | Buffer, headers: Record<string, string> = {}) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

describe('http destination: answers and headers as fetch had them (the client is undici request)', () => {
  const answer = JSON.stringify({
    results: [
      { key: '1', ok: false, error: 'bad email', code: 'INVALID_VALUE' },
      { key: '2', ok: true, id: 'crm-2' },
    ],
  });
  const settled = [
    { key: '1', ok: false, failure: expect.objectContaining({ code: 'INVALID_VALUE' }) },
    { key: '2', ok: true, destinationId: 'crm-2' },
  ];

  it('reads the row results of an answer compressed although no compression was asked for', async () => {
    for (const [coding, bytes] of [
      ['gzip', gzipSync(answer)],
      ['deflate', deflateRawSync(answer)],
      ['br', brotliCompressSync(answer)],
    ] as const) {
      const { url, seen } = await recordingServer(bytes, { 'content-encoding': coding });
      const out = await (await connect(target(url))).write('insert', users('1', '2'));
      expect(out.results, coding).toEqual(settled);
      expect(seen[0]['accept-encoding']).toBeUndefined();
    }
  });

  it('fails a call whose answer cannot be decoded, rather than acknowledging its rows', async () => {
    const { url } = await recordingServer('not gzip at all', { 'content-encoding': 'gzip' });
    const error = await failure((await connect(target(url))).write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'HTTP_NETWORK' });
  });

  it('sends a User-Agent, trims a header value read with its newline, and sends a header once whatever its case', async () => {
    const { url, seen } = await recordingServer('{}');
    const headers = { Authorization: `Bearer ${TOKEN}\n`, 'Content-Type': 'text/plain', 'User-Agent': 'crm-sync/2' };
    const out = await (await connect(target(url, { settings: { headers } }))).write('insert', users('1'));
    expect(out.results).toEqual([{ key: '1', ok: true }]);
    expect(seen[0]).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'user-agent': 'crm-sync/2' });
    const plain = await recordingServer('{}');
    await (await connect(target(plain.url))).write('insert', users('1'));
    expect(plain.seen[0]['user-agent']).toBe('hightouch-like');
  });

  it('refuses user:password@ in the url as a config error that does not echo them', async () => {
    const { url, seen } = await recordingServer('{}');
    const error = await httpDestination.check(target(url.replace('http://', 'http://alice:pa55w0rd_secret@'))).then(
      () => undefined,
      (e: unknown) => e as DestinationError,
    );
    expect(error?.failure).toMatchObject({ code: 'HTTP_CONFIG' });
    expect(error?.failure.message).toContain('user:password@');
    expect(error?.failure.message).not.toContain('pa55w0rd_secret');
    expect(seen).toHaveLength(0);
  });
});

describe('http destination: requests and row results', () => {
  it('POSTs the batch as JSON with the configured headers and applies it', async () => {
    const s = await sink();
    const client = await connect(target(s.url));
    const out = await client.write('insert', users('1', '2'));
    expect(out).toEqual({
      apiCalls: 1,
      results: [
        { key: '1', ok: true },
        { key: '2', ok: true },
      ],
    });
    expect(s.received).toHaveLength(1);
    const [request] = s.received;
    expect(request).toMatchObject({
      sync: 'users_to_crm',
      operation: 'upsert',
      rows: [
        { key: '1', fields: { id: 1, email: '1@x.io' } },
        { key: '2', fields: { id: 2, email: '2@x.io' } },
      ],
    });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['x-team']).toBe('growth');
    expect([...s.rows.keys()]).toEqual(['1', '2']);
  });

  it.each([
    ['upsert', 'insert', 'upsert'],
    ['upsert', 'update', 'upsert'],
    ['mirror', 'update', 'upsert'],
    ['mirror', 'delete', 'delete'],
    ['insert', 'insert', 'insert'],
    ['update', 'update', 'update'],
    ['update', 'insert', 'update'],
  ] as const)('mode %s, op %s sends operation %s', async (mode, op, operation) => {
    const s = await sink();
    const client = await connect(target(s.url, { mode }));
    await client.write(op, op === 'delete' ? [row('1')] : users('1'));
    expect(s.received[0].operation).toBe(operation);
    if (op === 'delete') expect(s.received[0].rows).toEqual([{ key: '1', fields: {} }]);
  });

  it('deletes remove rows; insert mode leaves present keys alone and counts them ok', async () => {
    const s = await sink();
    const mirror = await connect(target(s.url, { mode: 'mirror' }));
    await mirror.write('insert', users('1', '2'));
    const removed = await mirror.write('delete', [row('1'), row('9')]);
    expect(removed.results.every((r) => r.ok)).toBe(true);
    expect([...s.rows.keys()]).toEqual(['2']);

    const inserter = await connect(target(s.url, { mode: 'insert' }));
    const out = await inserter.write('insert', [row('2', { id: 2, email: 'changed' }), ...users('3')]);
    expect(out.results.every((r) => r.ok)).toBe(true);
    expect(s.rows.get('2')).toEqual({ id: 2, email: '2@x.io' });
    expect(s.rows.has('3')).toBe(true);
  });

  it('reads per-row rejections from a results body; rows it leaves out are ok', async () => {
    const s = await sink();
    s.rejectKeys(['2']);
    const client = await connect(target(s.url));
    const out = await client.write('insert', users('1', '2', '3'));
    expect(out.apiCalls).toBe(1);
    expect(out.results).toEqual([
      { key: '1', ok: true },
      {
        key: '2',
        ok: false,
        failure: expect.objectContaining({ errorClass: 'rejected', code: 'HTTP_ROW_REJECTED', message: 'row 2 refused by the sink' }),
      },
      { key: '3', ok: true },
    ]);
    expect([...s.rows.keys()]).toEqual(['1', '3']);
  });

  it('keeps the receiver code for a rejected row (update of a missing key is NOT_FOUND)', async () => {
    const s = await sink();
    const client = await connect(target(s.url, { mode: 'update' }));
    const out = await client.write('update', users('5'));
    expect(out.results[0]).toMatchObject({ key: '5', ok: false, failure: { errorClass: 'rejected', code: 'NOT_FOUND' } });
  });

  it('turns a result id into destinationId', async () => {
    const s = await sink({ assignIds: true });
    const client = await connect(target(s.url));
    const out = await client.write('insert', users('1'));
    expect(out.results).toEqual([{ key: '1', ok: true, destinationId: 'sink-1' }]);
  });

  it('sends the external_id value as the key, records it as destinationId, and deletes by it', async () => {
    const s = await sink();
    const t = target(s.url, { externalId: 'email', keyField: 'id', fields: ['id', 'email'], mode: 'mirror' });
    const client = await connect(t);
    const out = await client.write('insert', users('1'));
    expect(s.received[0].rows[0].key).toBe('1@x.io');
    expect(out.results).toEqual([{ key: '1', ok: true, destinationId: '1@x.io' }]);
    const removed = await client.write('delete', [row('1', {}, '1@x.io'), row('2', {}, null)]);
    expect(removed.apiCalls).toBe(1);
    expect(removed.results.find((r) => r.key === '1')).toEqual({ key: '1', ok: true });
    expect(removed.results.find((r) => r.key === '2')).toMatchObject({ ok: false, failure: { code: 'HTTP_NO_KEY' } });
    expect(s.received[1].rows).toEqual([{ key: '1@x.io', fields: {} }]);
    expect(s.rows.size).toBe(0);
  });
});

describe('http destination: whole-call failures', () => {
  it('answers 400 for a batch holding a refused row: rejected, so the core splits it', async () => {
    const s = await sink({ wholeBatch: true });
    s.rejectKeys(['2']);
    const client = await connect(target(s.url));
    const error = await failure(client.write('insert', users('1', '2')));
    expect(error.failure).toMatchObject({ errorClass: 'rejected', code: 'HTTP_400' });
    expect(error.failure.message).toContain('rows refused: 2');
    expect(error.apiCalls).toBe(1);
    expect(s.rows.size).toBe(0);
    await expect(client.write('insert', users('1'))).resolves.toMatchObject({ results: [{ key: '1', ok: true }] });
  });

  it.each([
    [401, 'auth'],
    [403, 'auth'],
    [404, 'fatal'],
    [405, 'fatal'],
    [408, 'transient'],
    [409, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [429, 'rate_limited'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
  ] as const)('status %i → %s', async (status, errorClass) => {
    const s = await sink();
    s.failNext(1, status);
    const client = await connect(target(s.url));
    const error = await failure(client.write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass, code: `HTTP_${status}` });
    expect(error.failure.remediation).toBeTruthy();
    expect(error.failure.retryAfterMs).toBeUndefined();
    expect(s.rows.size).toBe(0);
  });

  it('honours Retry-After seconds on 429 and 503, then succeeds once the faults are spent', async () => {
    const s = await sink();
    s.failNext(1, 429, 7);
    s.failNext(1, 503, 2);
    const client = await connect(target(s.url));
    expect((await failure(client.write('insert', users('1')))).failure).toMatchObject({
      errorClass: 'rate_limited',
      retryAfterMs: 7000,
    });
    expect((await failure(client.write('insert', users('1')))).failure).toMatchObject({
      errorClass: 'transient',
      retryAfterMs: 2000,
    });
    expect((await client.write('insert', users('1'))).results).toEqual([{ key: '1', ok: true }]);
    expect(s.received).toHaveLength(3);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const url = await fixedServer(429, '', { 'retry-after': at });
    const client = await connect(target(url));
    // The client reads the clock between these two reads, however long the call takes on a busy machine.
    const before = Date.now();
    const error = await failure(client.write('insert', users('1')));
    const after = Date.now();
    expect(error.failure.retryAfterMs).toBeGreaterThanOrEqual(Date.parse(at) - after);
    expect(error.failure.retryAfterMs).toBeLessThanOrEqual(Date.parse(at) - before);
  });

  it('parses Retry-After forms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('treats a redirect as fatal instead of following it', async () => {
    const url = await fixedServer(302, '', { location: 'http://127.0.0.1:1/elsewhere' });
    const error = await failure((await connect(target(url))).write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'HTTP_302' });
  });

  it('times out a slow receiver as transient HTTP_TIMEOUT', async () => {
    const s = await sink();
    s.holdAfter(0); // never answers: the 50 ms timeout is the only way out
    const client = await connect(target(s.url, { settings: { timeout_ms: 50 } }));
    const error = await failure(client.write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'HTTP_TIMEOUT' });
    expect(error.failure.message).toContain('50 ms');
  });

  it('reports a refused connection as transient HTTP_NETWORK', async () => {
    const port = await closedPort();
    const client = await connect(target(`http://127.0.0.1:${port}/hook`));
    const error = await failure(client.write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'HTTP_NETWORK' });
    expect(error.failure.message).toContain('ECONNREFUSED');
  });

  it('never puts header values or URL credentials in a message, even when the receiver echoes them', async () => {
    const url = await fixedServer(401, `invalid token Bearer ${TOKEN}`);
    const withQuery = `${url}?api_key=k3y_s3cret_value`;
    const error = await failure((await connect(target(withQuery))).write('insert', users('1')));
    expect(error.failure).toMatchObject({ errorClass: 'auth', code: 'HTTP_401' });
    expect(error.failure.message).toContain('invalid token');
    expect(error.failure.message).not.toContain(TOKEN);
    expect(error.failure.message).not.toContain('k3y_s3cret_value');
  });

  it('masks secrets a receiver echoes in a per-row error', async () => {
    const url = await fixedServer(200, JSON.stringify({ results: [{ key: '1', ok: false, error: `bad ${TOKEN}`, code: 'E1' }] }));
    const out = await (await connect(target(url))).write('insert', users('1'));
    expect(out.results[0]).toMatchObject({ ok: false, failure: { code: 'E1', message: 'bad ***' } });
  });

  it('acknowledges every row for a 2xx body that is not JSON', async () => {
    const url = await fixedServer(204);
    const out = await (await connect(target(url))).write('insert', users('1', '2'));
    expect(out.results).toEqual([
      { key: '1', ok: true },
      { key: '2', ok: true },
    ]);
  });
});

describe('http destination: check and settings', () => {
  it('passes when the port accepts a connection, without sending a request', async () => {
    const s = await sink();
    await expect(httpDestination.check(target(s.url))).resolves.toBeUndefined();
    expect(s.received).toHaveLength(0);
  });

  it('names host and port when the connection is refused', async () => {
    const port = await closedPort();
    const error = await failure(httpDestination.check(target(`http://127.0.0.1:${port}/hook?token=zzz_secret`)));
    expect(error.failure).toMatchObject({ errorClass: 'transient', code: 'HTTP_NETWORK' });
    expect(error.failure.message).toContain(`127.0.0.1:${port}`);
    expect(error.failure.message).toContain('ECONNREFUSED');
    expect(error.failure.message).not.toContain('zzz_secret');
  });

  it('reports an unresolvable host as fatal', async () => {
    const error = await failure(httpDestination.check(target('http://no-such-host.invalid:8080/')));
    expect(error.failure).toMatchObject({ errorClass: 'fatal', code: 'HTTP_DNS' });
    expect(error.failure.message).toContain('no-such-host.invalid:8080');
  });

  it('rejects a bad url or header without echoing secrets', async () => {
    const bad = await failure(httpDestination.check(target('ftp://user:pw_secret_1@host/')));
    expect(bad.failure).toMatchObject({ errorClass: 'fatal', code: 'HTTP_CONFIG' });
    expect(bad.failure.message).not.toContain('pw_secret_1');
    const notUrl = await failure(httpDestination.check(target('not a url')));
    expect(notUrl.failure.code).toBe('HTTP_CONFIG');
    const header = await failure(
      httpDestination.check(target('http://127.0.0.1:1/', { settings: { headers: { authorization: `Bearer ${TOKEN}\r\nx-evil: 1` } } })),
    );
    expect(header.failure.code).toBe('HTTP_CONFIG');
    expect(header.failure.message).toContain('"authorization"');
    expect(header.failure.message).not.toContain(TOKEN);
  });

  it('validateSync accepts a sync without a mapped key (rows carry the primary key) but checks external_id', () => {
    expect(httpDestination.validateSync!(target('http://x/'))).toEqual([]);
    expect(httpDestination.validateSync!(target('http://x/', { keyField: null }))).toEqual([]);
    expect(httpDestination.validateSync!(target('http://x/', { externalId: 'phone' }))).toEqual([
      expect.objectContaining({ field: 'external_id', message: expect.stringContaining('"phone"') }),
    ]);
  });
});
