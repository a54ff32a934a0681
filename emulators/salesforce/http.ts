/** The emulator's HTTP plumbing: reading a body, writing a JSON answer. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** jsforce parses a body as JSON only when its content type matches `^application/json(;|$)`. */
const JSON_TYPE = 'application/json;charset=UTF-8';

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes `body` as JSON, or as text of `contentType` (nothing when undefined), after `delayMs` when set; a closed socket gets nothing. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  delayMs = 0,
  contentType?: string,
): void {
  const write = () => {
    if (res.destroyed) return;
    const text = body === undefined ? '' : contentType ? String(body) : JSON.stringify(body);
    res.writeHead(status, { 'content-type': contentType ? `${contentType};charset=UTF-8` : JSON_TYPE, ...headers });
    res.end(text);
  };
  if (delayMs > 0) setTimeout(write, delayMs);
  else write();
}
