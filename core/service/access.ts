/**
 * Who may use the service's HTTP API and dashboard, checked before any route:
 * - bound to loopback, the Host header must name loopback (a page that rebinds a DNS name to 127.0.0.1
 *   sends its own name);
 * - with `service.token` (required beyond loopback), every request carries it: `Authorization: Bearer`,
 *   or the cookie the login form sets (an HMAC of the token, so the cookie is not the token itself);
 * - a request that changes something is JSON (a cross-site form cannot send that without a CORS
 *   preflight, never approved here) and, when the browser says where it comes from (Origin,
 *   Sec-Fetch-Site), comes from this very origin.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'htl_session';

/** Routes reachable without the token: the login form and what it needs. */
const OPEN_PATHS = new Set(['/login', '/assets/dashboard.css', '/assets/dashboard.js']);

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('hightouch-like dashboard session').digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function tokenOk(request: FastifyRequest, token: string): boolean {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return true;
  const session = cookie(request, SESSION_COOKIE);
  return session !== undefined && sameSecret(session, sessionValue(token));
}

const isWrite = (method: string) => method !== 'GET' && method !== 'HEAD';

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && !request.url.startsWith('/api/') && /text\/html/.test(request.headers.accept ?? '');
}

/** An onRequest hook enforcing the rules above; `loopback` is whether the service listens on loopback. */
export function accessHook(options: { loopback: boolean; token: string | null }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host ?? '';
    if (options.loopback && !LOOPBACK_HOST.test(host)) {
      return reply.code(403).send({ error: 'the Host header must name the loopback address (127.0.0.1, localhost or [::1])' });
    }
    const path = request.url.split('?')[0];
    if (options.token !== null && !OPEN_PATHS.has(path) && !tokenOk(request, options.token)) {
      if (wantsHtml(request))
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send('<!doctype html><title>Sign in</title><p><a href="/login">Sign in</a> with the service token.</p>');
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'send the service token: Authorization: Bearer <service.token>' });
    }
    if (!isWrite(request.method)) return;
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
      return reply.code(415).send({ error: 'send a JSON body with content-type: application/json ({} when there is nothing to say)' });
    }
    const origin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    const crossOrigin = origin !== undefined && origin !== 'null' ? !sameOrigin(origin, host) : origin === 'null';
    if (crossOrigin || fetchSite === 'cross-site' || fetchSite === 'same-site') {
      return reply.code(403).send({ error: 'a cross-site request may not change anything here' });
    }
  };
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
