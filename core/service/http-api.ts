/**
 * The service's HTTP API (fastify), JSON in and out, and the dashboard's pages on the same app. Who may
 * call it is core/service/access.ts's: loopback, or a token. Routes are documented in README "Serve" and
 * "Dashboard".
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { UserError, oneLine } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';
import type { TriggerOutcome } from '../schedule/scheduler.js';
import { accessHook } from './access.js';
import { registerDashboard, type DashboardBackend } from './dashboard/routes.js';

export interface ApiBackend extends DashboardBackend {
  secrets: string[];
  /** Whether the service listens on a loopback address (then the Host header must name one). */
  loopback: boolean;
  /** False once the service is stopping. */
  healthy(): boolean;
  health(): Record<string, unknown>;
  runs(sync: string | undefined, limit: number): Promise<unknown[]>;
  query(text: string): Promise<{ columns: string[]; rows: unknown[][] }>;
  trigger(name: string): TriggerOutcome | Promise<TriggerOutcome | 'queued' | 'coalesced'>;
  /** Pauses (with a reason) or resumes (null) a sync; false when it already was so. */
  pause(name: string, reason: string | null): Promise<boolean>;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Extracts (README "Extracts"): their status, a manual run, and a resume after healing paused one. */
  extracts(): Promise<unknown[]>;
  hasExtract(name: string): boolean;
  triggerExtract(name: string): TriggerOutcome;
  resumeExtract(name: string): Promise<boolean>;
}

/** A page of `sync_runs` is capped: 1,000 rows of about 300 bytes is a 300 KB answer. */
const MAX_RUNS = 1000;
const DEFAULT_RUNS = 50;

export function buildHttpApi(backend: ApiBackend): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const mask = (text: string) => redact(text, backend.secrets);

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof UserError) return reply.code(400).send({ error: mask(error.format()) });
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: mask(oneLine((error as Error).message)) });
    return reply.code(500).send({ error: mask(oneLine((error as Error).message ?? String(error))) });
  });

  app.addHook('onRequest', accessHook({ loopback: backend.loopback, token: backend.token }));

  app.get('/healthz', async (_request, reply) => reply.code(backend.healthy() ? 200 : 503).send(backend.health()));

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await backend.metrics();
    return reply.type(contentType).send(text);
  });

  app.get('/api/syncs', async () => backend.syncs());

  app.get<{ Querystring: { sync?: string; limit?: string } }>('/api/runs', async (request, reply) => {
    const { sync, limit } = request.query;
    const n = limit === undefined ? DEFAULT_RUNS : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_RUNS)
      return reply.code(400).send({ error: `limit must be a whole number from 1 to ${MAX_RUNS}` });
    if (sync !== undefined && !backend.hasSync(sync)) return reply.code(404).send({ error: `no sync named "${sync}"` });
    return backend.runs(sync, n);
  });

  app.post<{ Body: { sql?: unknown } }>('/api/query', async (request, reply) => {
    const text = request.body?.sql;
    if (typeof text !== 'string') return reply.code(400).send({ error: 'the body must be JSON {"sql": "<one read-only query>"}' });
    return backend.query(text);
  });

  app.post<{ Params: { name: string } }>('/api/syncs/:name/trigger', async (request, reply) => {
    const { name } = request.params;
    if (!backend.hasSync(name)) return reply.code(404).send({ error: `no sync named "${name}"` });
    const outcome = await backend.trigger(name);
    if (outcome === 'stopped') return reply.code(503).send({ sync: name, outcome, error: 'the service is stopping' });
    return reply.code(202).send({ sync: name, outcome });
  });

  app.post<{ Params: { name: string; verb: string }; Body: { reason?: unknown } }>('/api/syncs/:name/:verb', async (request, reply) => {
    const { name, verb } = request.params;
    if (verb !== 'pause' && verb !== 'resume') return reply.code(404).send({ error: `no route POST /api/syncs/:name/${verb}` });
    if (!backend.hasSync(name)) return reply.code(404).send({ error: `no sync named "${name}"` });
    const reason = typeof request.body?.reason === 'string' && request.body.reason !== '' ? request.body.reason : 'paused by hand';
    const changed = await backend.pause(name, verb === 'pause' ? reason : null);
    return { sync: name, state: verb === 'pause' ? 'paused' : 'healthy', changed };
  });

  app.get('/api/extracts', async () => backend.extracts());

  app.post<{ Params: { name: string; verb: string } }>('/api/extracts/:name/:verb', async (request, reply) => {
    const { name, verb } = request.params;
    if (verb !== 'trigger' && verb !== 'resume') return reply.code(404).send({ error: `no route POST /api/extracts/:name/${verb}` });
    if (!backend.hasExtract(name)) return reply.code(404).send({ error: `no extract named "${name}"` });
    if (verb === 'resume') return { extract: name, changed: await backend.resumeExtract(name) };
    const outcome = backend.triggerExtract(name);
    if (outcome === 'stopped') return reply.code(503).send({ extract: name, outcome, error: 'the service is stopping' });
    return reply.code(202).send({ extract: name, outcome });
  });

  registerDashboard(app, backend);
  return app;
}
