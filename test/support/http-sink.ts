/**
 * A loopback HTTP receiver for the `http` destination, used by connector and engine tests.
 * It applies batches to an in-memory table and injects faults by count (never at random), so
 * every run of a test sees the same answers. Timing comes from progress, never from a clock: a test
 * can hold the sink's answers (`holdAfter`) and wait for what it has received (`until`).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRow {
  key: string;
  fields: Record<string, unknown>;
}

export interface SinkRequest {
  sync: string;
  operation: string;
  rows: SinkRow[];
  headers: IncomingHttpHeaders;
}

export interface SinkOptions {
  /** Answer 400 for the whole batch when any row is in the reject set, instead of per-row results. */
  wholeBatch?: boolean;
  /** Give every accepted row an id `sink-<key>` in the results body. */
  assignIds?: boolean;
  /** Give every accepted row the id this returns (when `assignIds` is not set). */
  idFor?: (key: string) => string;
  /** The status of a whole-batch refusal (default 400). */
  wholeBatchStatus?: number;
  /** The per-row `code` of a refused key (default none: the connector's HTTP_ROW_REJECTED). */
  codeFor?: (key: string) => string | undefined;
  /** The per-row error text for a refused key (default `row <key> refused by the sink`). */
  rejectMessage?: (key: string) => string;
  /** Answer this status to the first request carrying a given operation and set of keys; a resend is served. */
  failEachNewBatch?: number;
  /** Listen on this loopback port (default: a free one). */
  port?: number;
  /** Awaited before a request is answered (after it is recorded in `received`): lets a test act mid-run. */
  beforeAnswer?: (request: SinkRequest) => Promise<void> | void;
}

export interface HttpSink {
  url: string;
  port: number;
  /** Every well-formed request, in arrival order, including the ones answered with a fault. */
  received: SinkRequest[];
  /** The applied state: upserts set, inserts set when absent, updates set when present, deletes remove. */
  rows: Map<string, Record<string, unknown>>;
  /** The most requests this sink has had unanswered at once (received, answer not yet written). */
  maxInFlight: number;
  /** Rows in the well-formed requests answered so far, whatever the answer. */
  answeredRows: number;
  /** Requests whose answers `holdAfter` is holding back. */
  held: number;
  /**
   * Applies every request as it arrives but holds its answer once `answeredRows` has reached `rows`,
   * until `release()`. A run then cannot finish, so a test can stop it at a known point.
   */
  holdAfter(rows: number): void;
  /** Writes every held answer, in arrival order (dropping those whose client is gone), and stops holding. */
  release(): void;
  /** Resolves once `condition()` is true: checked now and after every request received, held or answered. */
  until(condition: () => boolean): Promise<void>;
  /** Answer the next `count` requests with `status` (and `Retry-After: <seconds>`), applying nothing. */
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
  /** Refuse rows with these keys from now on; an empty set refuses none. */
  rejectKeys(keys: Iterable<string>): void;
  close(): Promise<void>;
}

interface Fault {
  status: number;
  retryAfterSeconds?: number;
}

interface RowResultBody {
  key: string;
  ok: boolean;
  error?: string;
  code?: string;
  id?: string;
}

export async function startHttpSink(options: SinkOptions = {}): Promise<HttpSink> {
  const faults: Fault[] = [];
  let rejected = new Set<string>();
  const seenBatches = new Set<string>();

  let holdFrom: number | undefined;
  const heldAnswers: Array<() => void> = [];
  const waiters = new Set<() => void>();
  const progressed = () => waiters.forEach((check) => check());

  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    sink.maxInFlight = Math.max(sink.maxInFlight, inFlight);
    // Counted until the answer is written (not until the socket closes): the client can only send
    // its next call after that, so a bounded client never shows more than its bound here.
    let open = true;
    const settle = () => {
      if (open) inFlight--;
      open = false;
    };
    res.on('close', settle);
    let rowCount = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const send = () => {
          settle();
          sink.answeredRows += rowCount;
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        if (holdFrom !== undefined && sink.answeredRows >= holdFrom) {
          heldAnswers.push(send);
          sink.held = heldAnswers.length;
        } else {
          send();
        }
        progressed();
      };

      let request: SinkRequest;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<SinkRequest, 'headers'>;
        if (!Array.isArray(parsed.rows) || typeof parsed.operation !== 'string') throw new Error('shape');
        request = { sync: parsed.sync, operation: parsed.operation, rows: parsed.rows, headers: req.headers };
      } catch {
        answer(400, { error: 'body must be JSON {sync, operation, rows}' });
        return;
      }
      rowCount = request.rows.length;
      sink.received.push(request);
      await options.beforeAnswer?.(request);

      const batchId = JSON.stringify([request.operation, request.rows.map((r) => r.key)]);
      if (options.failEachNewBatch !== undefined && !seenBatches.has(batchId)) {
        seenBatches.add(batchId);
        answer(options.failEachNewBatch, { error: `injected ${options.failEachNewBatch} (first send of this batch)` });
        return;
      }

      const fault = faults.shift();
      if (fault) {
        const headers: Record<string, string> =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        answer(fault.status, { error: `injected ${fault.status}` }, headers);
        return;
      }

      const refused = request.rows.filter((row) => rejected.has(row.key));
      if (options.wholeBatch && refused.length > 0) {
        answer(options.wholeBatchStatus ?? 400, { error: `rows refused: ${refused.map((r) => r.key).join(', ')}` });
        return;
      }

      const results: RowResultBody[] = [];
      for (const row of request.rows) {
        if (rejected.has(row.key)) {
          const code = options.codeFor?.(row.key);
          const error = options.rejectMessage?.(row.key) ?? `row ${row.key} refused by the sink`;
          results.push(code === undefined ? { key: row.key, ok: false, error } : { key: row.key, ok: false, error, code });
          continue;
        }
        const exists = sink.rows.has(row.key);
        if (request.operation === 'update' && !exists) {
          results.push({ key: row.key, ok: false, error: `no row ${row.key}`, code: 'NOT_FOUND' });
          continue;
        }
        if (request.operation === 'delete') sink.rows.delete(row.key);
        else if (request.operation !== 'insert' || !exists) sink.rows.set(row.key, row.fields);
        if (options.assignIds) results.push({ key: row.key, ok: true, id: `sink-${row.key}` });
        else if (options.idFor) results.push({ key: row.key, ok: true, id: options.idFor(row.key) });
      }
      answer(200, results.length > 0 ? { results } : { ok: true });
    });
  });

  // Node closes an idle keep-alive socket after 5 s; a client that reuses it at that instant sees ECONNRESET
  // and re-sends, one send more than the test expects. Tests run minutes at most: never close idle sockets first.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const sink: HttpSink = {
    url: `http://127.0.0.1:${port}/`,
    port,
    received: [],
    rows: new Map(),
    maxInFlight: 0,
    answeredRows: 0,
    held: 0,
    holdAfter(rows) {
      holdFrom = rows;
    },
    release() {
      holdFrom = undefined;
      for (const send of heldAnswers.splice(0)) send();
      sink.held = 0;
      progressed();
    },
    until(condition) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          try {
            if (!condition()) return;
            waiters.delete(check);
            resolve();
          } catch (error) {
            waiters.delete(check);
            reject(error);
          }
        };
        waiters.add(check);
        check();
      });
    },
    failNext(count, status, retryAfterSeconds) {
      for (let i = 0; i < count; i++) faults.push({ status, retryAfterSeconds });
    },
    rejectKeys(keys) {
      rejected = new Set(keys);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets from fetch would hold the server open.
        server.closeAllConnections();
      });
    },
  };
  return sink;
}
