/**
 * A loopback receiver of alert webhooks that checks each one the way README "Health and alerts" tells a
 * receiver to: HMAC-SHA256 over `<t>.<raw body>` with the shared secret, compared in constant time,
 * and `t` within 5 minutes of now. It keeps every request with its verdict.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedAlert {
  body: Record<string, unknown>;
  raw: string;
  signature: string | undefined;
  verified: boolean;
}

/** The receiver-side check, as documented. */
export function verifySignature(secret: string, header: string | undefined, raw: string, nowSeconds: number): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300 || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface AlertReceiver {
  url: string;
  received: ReceivedAlert[];
  /** Resolves once `count` requests have arrived. */
  until(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startAlertReceiver(secret: string, now: () => Date = () => new Date()): Promise<AlertReceiver> {
  const received: ReceivedAlert[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const signature = req.headers['x-hightouch-like-signature'] as string | undefined;
      const verified = verifySignature(secret, signature, raw, Math.floor(now().getTime() / 1000));
      received.push({ body: JSON.parse(raw), raw, signature, verified });
      res.writeHead(204).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/alerts`,
    received,
    until: (count) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (received.length >= count) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
