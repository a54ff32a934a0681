/** `hightouch-like.config.yaml`: warehouse, state store and destinations, with their defaults. */
import { access } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { getConnector } from '../../connectors/registry.js';
import { UserError } from '../../shared/errors.js';
import type {
  AlertsConfig,
  ApiBudgetConfig,
  DatabaseConfig,
  DestinationConfig,
  LandingConfig,
  RetryPolicy,
  ServiceConfig,
  SourceConfig,
} from './types.js';
import { parseSources, type RawSources } from './sources.js';
import { parseProjectAlerts, type RawProjectAlerts } from './alerts.js';
import { substituteEnv } from './env-substitution.js';
import { DESTINATION_ENGINE_KEYS, projectJsonSchema } from './schemas.js';
import { validateWithSchema } from './validate.js';
import { readYaml } from './yaml-source.js';

export const PROJECT_FILE = 'hightouch-like.config.yaml';
const PROJECT_FILE_NAMES = [PROJECT_FILE, 'hightouch-like.config.yml'];

export interface ProjectFile {
  file: string;
  warehouse: DatabaseConfig;
  state: DatabaseConfig;
  destinations: Record<string, DestinationConfig>;
  service: ServiceConfig;
  alerts: AlertsConfig;
  sources: Record<string, SourceConfig>;
  landing: LandingConfig;
  lines: Record<string, number>;
}

export const DEFAULT_LANDING_PATH = '.hightouch-like/landed.duckdb';
export const DEFAULT_LANDING_SCHEMA = 'landed';

function landing(raw: { path?: string; schema?: string; url?: string } | undefined, warehouse: DatabaseConfig, dir: string): LandingConfig {
  if (warehouse.type === 'postgres')
    return { type: 'postgres', url: raw?.url ?? warehouse.url, schema: raw?.schema ?? DEFAULT_LANDING_SCHEMA };
  const path = raw?.path ?? DEFAULT_LANDING_PATH;
  return { type: 'duckdb', path: isAbsolute(path) ? path : resolve(dir, path) };
}

export const DEFAULT_MAX_PARALLEL = 2;
export const DEFAULT_SERVICE_PORT = 7345;
/** Two minutes: a killed process's sync waits about this long; a shorter one retries live long runs more often. */
export const DEFAULT_TAKEOVER_SECONDS = 120;
export const DEFAULT_QUEUE_SCHEMA = 'hightouch_like_queue';
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/**
 * Loopback needs no token: only this machine reaches it (and the API shuts out DNS rebinding and
 * cross-site pages). Any other address is reachable by others, so `serve` refuses it unless
 * `service.token` is set from ${ENV}, which every request must then carry. Also checked for `serve --host`.
 */
export function checkBind(host: string, token: string | null, where: { file?: string; line?: number; field: string }): void {
  if (!LOOPBACK_HOSTS.includes(host) && token === null) {
    throw new UserError(
      `${host} is not a loopback address, and service.token is not set; serve only listens beyond loopback with a token`,
      {
        ...where,
        hint: `set service.token: \${HTL_TOKEN} (a long random value from the environment), or use one of ${LOOPBACK_HOSTS.join(', ')}.`,
      },
    );
  }
}

/** A token must come from the environment (so it is masked everywhere) and be long enough not to be guessed. */
function serviceToken(raw: string | undefined, secrets: Set<string>, where: { file: string; line?: number }): string | null {
  if (raw === undefined) return null;
  if (!secrets.has(raw)) {
    throw new UserError('service.token is written in the file; it must come from the environment', {
      ...where,
      field: 'service.token',
      hint: 'write service.token: ${HTL_TOKEN} and set HTL_TOKEN in the environment.',
    });
  }
  if (raw.length < 16) {
    throw new UserError(`service.token is ${raw.length} characters long; it needs at least 16`, {
      ...where,
      field: 'service.token',
      hint: 'use a random value, e.g. from: openssl rand -hex 24',
    });
  }
  return raw;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function findProjectFile(dir: string): Promise<string> {
  const found: string[] = [];
  for (const name of PROJECT_FILE_NAMES) if (await exists(join(dir, name))) found.push(name);
  if (found.length === 0) {
    throw new UserError(`no ${PROJECT_FILE} in ${dir}.`, {
      hint: `create ${PROJECT_FILE} there, or point to the project directory.`,
    });
  }
  if (found.length > 1) {
    throw new UserError(`both ${found.join(' and ')} exist.`, { file: found[1], hint: 'keep only one of them.' });
  }
  return found[0];
}

type RawDatabase = { type: 'duckdb'; path?: string } | { type: 'postgres'; url: string; query_url?: string };

function database(raw: RawDatabase | undefined, dir: string, defaultPath: string): DatabaseConfig {
  if (!raw) return { type: 'duckdb', path: defaultPath };
  if (raw.type === 'postgres')
    return raw.query_url === undefined ? { type: 'postgres', url: raw.url } : { type: 'postgres', url: raw.url, query_url: raw.query_url };
  const path = raw.path ?? defaultPath;
  // Relative to the project, not to the shell's directory, so `-C project` and `cd project` agree.
  return { type: 'duckdb', path: path === ':memory:' || isAbsolute(path) ? path : resolve(dir, path) };
}

function destination(name: string, raw: Record<string, unknown>): DestinationConfig {
  const type = String(raw.type);
  // The schema only admits registered types; batch_size is capped there by the connector's maximum.
  const connector = getConnector(type)!;
  const settings: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) {
    if (!(DESTINATION_ENGINE_KEYS as readonly string[]).includes(key)) settings[key] = value;
  }
  const config: DestinationConfig = { name, type: connector.type, settings };
  if (raw.batch_size !== undefined) config.batch_size = raw.batch_size as number;
  if (raw.concurrency !== undefined) config.concurrency = raw.concurrency as number;
  if (raw.workers !== undefined) config.workers = raw.workers as number;
  if (raw.retry !== undefined) config.retry = { ...(raw.retry as Partial<RetryPolicy>) };
  if (raw.api_budget !== undefined) config.api_budget = { ...(raw.api_budget as ApiBudgetConfig) };
  return config;
}

export async function loadProjectFile(dir: string, env: NodeJS.ProcessEnv, secrets: Set<string>): Promise<ProjectFile> {
  const file = await findProjectFile(dir);
  const source = await readYaml(join(dir, file), file);
  const value = substituteEnv(source, env, secrets) ?? {};
  validateWithSchema(projectJsonSchema(), value, source, { secrets });

  const raw = value as {
    warehouse?: RawDatabase;
    state?: RawDatabase;
    destinations?: Record<string, Record<string, unknown>>;
    scheduler?: { max_parallel?: number; takeover_seconds?: number; queue_schema?: string };
    service?: { host?: string; port?: number; token?: string };
    alerts?: RawProjectAlerts;
    sources?: RawSources;
    landing?: { path?: string; schema?: string; url?: string };
  };
  const lines = source.keyLines();
  const host = raw.service?.host ?? '127.0.0.1';
  const token = serviceToken(raw.service?.token, secrets, { file, line: lines['service.token'] ?? lines.service });
  checkBind(host, token, { file, line: lines['service.host'] ?? lines.service, field: 'service.host' });
  const destinations: Record<string, DestinationConfig> = Object.create(null);
  for (const [name, settings] of Object.entries(raw.destinations ?? {})) {
    destinations[name] = destination(name, settings);
  }
  const warehouse = database(raw.warehouse, dir, ':memory:');
  return {
    file,
    warehouse,
    state: database(raw.state, dir, join(dir, '.hightouch-like', 'state.duckdb')),
    destinations,
    service: {
      maxParallel: raw.scheduler?.max_parallel ?? DEFAULT_MAX_PARALLEL,
      takeoverSeconds: raw.scheduler?.takeover_seconds ?? DEFAULT_TAKEOVER_SECONDS,
      queueSchema: raw.scheduler?.queue_schema ?? DEFAULT_QUEUE_SCHEMA,
      host,
      port: raw.service?.port ?? DEFAULT_SERVICE_PORT,
      token,
    },
    alerts: parseProjectAlerts(raw.alerts, dir, file, lines),
    sources: parseSources(raw.sources, secrets, file, lines),
    landing: landing(raw.landing, warehouse, dir),
    lines,
  };
}
