/** The emulator's HTTP plumbing: reading a body, writing a JSON or text answer, gzip when asked. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/** jsforce parses a body as JSON only when its content type matches `^application/json(;|$)`. */
const JSON_TYPE = 'application/json;charset=UTF-8';

/** How a body goes on the wire: as is, gzip (the client sent `Accept-Encoding: gzip`), or a gzip that cannot be decoded (a fault). */
export type Compression = 'none' | 'gzip' | 'corrupt-gzip';

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** True when the request accepts gzip (`Accept-Encoding: gzip, deflate`; `gzip;q=0` refuses it). */
export function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'] ?? '';
  return header
    .split(',')
    .map((part) => part.trim().split(';'))
    .some(([coding, ...params]) => coding.trim().toLowerCase() === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)));
}

/**
 * A gzip member header followed by bytes that are not a deflate stream: every gzip reader fails on it
 * ("invalid block type"), however leniently it flushes.
 */
function corruptGzip(text: string): Buffer {
  const valid = gzipSync(text);
  const broken = Buffer.from(valid);
  broken.fill(0xff, 10, Math.min(broken.length, 26));
  return broken;
}

/** Writes `body` as JSON, or as text of `contentType` (nothing when undefined), after `delayMs` when set; a closed socket gets nothing. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  delayMs = 0,
  contentType?: string,
  compression: Compression = 'none',
): void {
  const write = () => {
    if (res.destroyed) return;
    const text = body === undefined ? '' : contentType ? String(body) : JSON.stringify(body);
    const type = { 'content-type': contentType ? `${contentType};charset=UTF-8` : JSON_TYPE };
    if (compression === 'none' || text === '') {
      res.writeHead(status, { ...type, ...headers });
      res.end(text);
      return;
    }
    const bytes = compression === 'gzip' ? gzipSync(text) : corruptGzip(text);
    res.writeHead(status, { ...type, 'content-encoding': 'gzip', vary: 'Accept-Encoding', ...headers });
    res.end(bytes);
  };
  if (delayMs > 0) setTimeout(write, delayMs);
  else write();
}
