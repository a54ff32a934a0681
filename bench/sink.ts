/**
 * The bench's HTTP receiver, run as its own process so the bench measures the engine, not the sink.
 *
 *   node dist/bench/sink.js            prints {"port": N} on stdout once listening
 *
 * POST /        a batch `{"sync", "operation", "rows": [{"key", "fields"}]}`; answers 200 `{"ok":true}`
 * GET  /__stats requests, rows, answers by status since the last reset
 * POST /__config {latencyMs, rejectEvery, rejectOffset, transientEvery, transientOffset}, also resets
 *
 * Without faults configured it does not parse bodies: rows are counted by their `{"key":` prefix, so a
 * fast client is not held back by JSON.parse in the sink. With faults it parses each body and:
 * - answers 503 once for a request holding a "transient" key (id % transientEvery == transientOffset)
 *   that has not failed yet (then remembers the key, so its retry goes through);
 * - answers 400 for the whole request when it holds a "rejected" key (id % rejectEvery == rejectOffset).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Config {
  latencyMs: number;
  rejectEvery: number;
  rejectOffset: number;
  transientEvery: number;
  transientOffset: number;
}

let config: Config = { latencyMs: 0, rejectEvery: 0, rejectOffset: 0, transientEvery: 0, transientOffset: 0 };
let stats = fresh();
let failedOnce = new Set<string>();

function fresh() {
  return { requests: 0, rows: 0, byStatus: {} as Record<string, number>, firstAt: 0, lastAt: 0 };
}

const KEY = Buffer.from('{"key":');

function countRows(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf(KEY); at !== -1; at = body.indexOf(KEY, at + KEY.length)) n++;
  return n;
}

const isOn = (every: number, offset: number, key: string) => every > 0 && Number(key) % every === offset;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const answer = (status: number, body: string) => {
      stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (config.latencyMs > 0) setTimeout(send, config.latencyMs);
      else send();
    };
    const body = Buffer.concat(chunks);
    if (req.method === 'GET' && req.url === '/__stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (req.method === 'POST' && req.url === '/__config') {
      config = { ...config, ...(JSON.parse(body.toString('utf8')) as Partial<Config>) };
      stats = fresh();
      failedOnce = new Set();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(config));
      return;
    }
    const now = Date.now();
    stats.firstAt ||= now;
    stats.lastAt = now;
    stats.requests++;
    if (!config.rejectEvery && !config.transientEvery) {
      stats.rows += countRows(body);
      answer(200, '{"ok":true}');
      return;
    }
    let keys: string[];
    try {
      keys = (JSON.parse(body.toString('utf8')) as { rows: Array<{ key: string }> }).rows.map((r) => String(r.key));
    } catch {
      answer(400, '{"error":"body must be JSON"}');
      return;
    }
    const transient = keys.filter((k) => isOn(config.transientEvery, config.transientOffset, k) && !failedOnce.has(k));
    if (transient.length) {
      transient.forEach((k) => failedOnce.add(k));
      answer(503, '{"error":"try again"}');
      return;
    }
    const refused = keys.filter((k) => isOn(config.rejectEvery, config.rejectOffset, k));
    if (refused.length) {
      answer(400, JSON.stringify({ error: `rows refused: ${refused.join(', ')}` }));
      return;
    }
    stats.rows += keys.length;
    answer(200, '{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
