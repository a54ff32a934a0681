/** `syncs/<name>.yaml`: which model goes to which destination, how, and with which field mapping. */
import { join } from 'node:path';
import type { DestinationConnector } from '../../connectors/destination.js';
import { buildWriteTarget } from '../../connectors/kit/write-target.js';
import { getConnector } from '../../connectors/registry.js';
import { UserError } from '../../shared/errors.js';
import type { DestinationConfig, ModelConfig, RetryPolicy, SyncConfig, SyncMode } from './types.js';
import { unknownKeyHint } from './did-you-mean.js';
import { substituteEnv } from './env-substitution.js';
import { byBaseName, listFolder } from './folder.js';
import { PROJECT_FILE } from './project-file.js';
import { parseSchedule } from './schedule.js';
import {
  DEFAULT_FAILED_ROWS_POLICY,
  DEFAULT_RETENTION_MS,
  parseFailedRowsPolicy,
  parseRetention,
  type RawFailedRows,
} from './failed-rows-policy.js';
import { parseSyncAlerts, type RawSyncAlerts } from './alerts.js';
import { SYNC_BASE_KEYS, connectorSyncSchema, syncJsonSchema } from './schemas.js';
import { validateWithSchema } from './validate.js';
import { readYaml, type YamlSource } from './yaml-source.js';

interface RawSync {
  model: string;
  destination: string;
  primary_key?: string;
  mode?: SyncMode;
  mapping: Record<string, string>;
  batch_size?: number;
  concurrency?: number;
  workers?: number;
  retry?: Partial<RetryPolicy>;
  schedule?: unknown;
  delete_guard?: { max_share?: number };
  failed_rows?: RawFailedRows;
  retention?: string;
  alerts?: RawSyncAlerts;
  [key: string]: unknown;
}

function listNames(names: string[]): string {
  return names.length > 0 ? names.join(', ') : 'none yet';
}

/** Line of each top-level key and each `mapping.<field>`, for messages raised by later stages. */
function syncLines(raw: RawSync, source: YamlSource): Record<string, number> {
  const lines: Record<string, number> = Object.create(null);
  for (const key of Object.keys(raw)) lines[key] = source.lineOf([key]);
  for (const field of Object.keys(raw.mapping)) lines[`mapping.${field}`] = source.lineOf(['mapping', field]);
  return lines;
}

/** What every sync file is loaded against: the project's environment, models and destinations. */
export interface SyncContext {
  /** The project folder. */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Collects every value substituted from the environment, for masking. */
  secrets: Set<string>;
  models: Record<string, ModelConfig>;
  destinations: Record<string, DestinationConfig>;
  /** The project file's name, for hints. Default: PROJECT_FILE. */
  projectFile?: string;
}

/** Where a message about one key of the sync file points. */
type At = (field: string, hint: string) => { file: string; line: number; field: string; hint: string };

export async function loadSync(context: SyncContext, name: string, file: string): Promise<SyncConfig> {
  const source = await readYaml(join(context.dir, file), file);
  const value = substituteEnv(source, context.env, context.secrets) ?? {};
  validateWithSchema(syncJsonSchema(), value, source, { secrets: context.secrets });
  const raw = value as RawSync;
  const lines = syncLines(raw, source);
  const at: At = (field, hint) => ({ file, line: lines[field] ?? source.lineOf([]), field, hint });

  const model = modelOf(raw, context.models, at);
  const destination = destinationOf(raw, context.destinations, at, context.projectFile ?? PROJECT_FILE);
  const connector = getConnector(destination.type)!;
  const settings = connectorSettings(raw, connector, source, context.secrets, at);
  const primaryKey = raw.primary_key ?? model.primary_key;
  if (!primaryKey) {
    throw new UserError('no primary key is set.', {
      file,
      line: source.lineOf([]),
      field: 'primary_key',
      hint: `add primary_key: <column> to ${file} or to models/${model.name}.yaml.`,
    });
  }
  if (raw.batch_size !== undefined && raw.batch_size > connector.defaults.maxBatchSize) {
    throw new UserError(
      `must be at most ${connector.defaults.maxBatchSize} for a ${connector.type} destination.`,
      at('batch_size', 'lower batch_size.'),
    );
  }

  const schedule = parseSchedule(raw.schedule, source);
  const sync = syncConfig(raw, { name, file, model: model.name, destination: destination.name, primaryKey, settings, lines, schedule });
  sync.failed_rows = parseFailedRowsPolicy(raw.failed_rows, source);
  sync.retention_ms = parseRetention(raw.retention, source);
  const target = buildWriteTarget({
    destination,
    sync: { name, mode: sync.mode, primaryKey, mapping: sync.mapping, settings },
  });
  const problem = connector.validateSync?.(target)[0];
  if (problem) {
    const line = lines[problem.field] ?? source.lineOf(problem.field.split('.'));
    throw new UserError(problem.message, { file, line, field: problem.field });
  }
  return sync;
}

function modelOf(raw: RawSync, models: Record<string, ModelConfig>, at: At): ModelConfig {
  // Own keys only: `model: constructor` must not find Object.prototype.constructor.
  const model = Object.hasOwn(models, raw.model) ? models[raw.model] : undefined;
  if (!model) {
    throw new UserError(
      `model "${raw.model}" not found.`,
      at('model', `create models/${raw.model}.sql, or use one of the defined models: ${listNames(Object.keys(models))}.`),
    );
  }
  return model;
}

function destinationOf(raw: RawSync, destinations: Record<string, DestinationConfig>, at: At, projectFile: string): DestinationConfig {
  const destination = Object.hasOwn(destinations, raw.destination) ? destinations[raw.destination] : undefined;
  if (!destination) {
    throw new UserError(
      `destination "${raw.destination}" is not defined.`,
      at('destination', `define it under destinations: in ${projectFile}, or use one of: ${listNames(Object.keys(destinations))}.`),
    );
  }
  return destination;
}

/** The sync file's keys beyond the base ones, checked against the one connector the sync uses. */
function connectorSettings(
  raw: RawSync,
  connector: DestinationConnector,
  source: YamlSource,
  secrets: Set<string>,
  at: At,
): Record<string, unknown> {
  // The sync schema admits every connector's keys; keep only this connector's.
  const settings: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(raw)) if (!SYNC_BASE_KEYS.includes(key)) settings[key] = item;
  const connectorKeys = Object.keys(connector.syncSchema.properties);
  for (const key of Object.keys(settings)) {
    if (!connectorKeys.includes(key)) {
      throw new UserError(
        `unknown key "${key}" for a ${connector.type} destination.`,
        at(key, unknownKeyHint(key, [...connectorKeys, ...SYNC_BASE_KEYS])),
      );
    }
  }
  validateWithSchema(connectorSyncSchema(connector), settings, source, {
    secrets,
    unknownKeyContext: `for a ${connector.type} destination`,
  });
  return settings;
}

interface ResolvedParts {
  name: string;
  file: string;
  model: string;
  destination: string;
  primaryKey: string;
  settings: Record<string, unknown>;
  lines: Record<string, number>;
  schedule: SyncConfig['schedule'];
}

/** The optional keys are copied only when set, so a sync's value wins over its destination's only when given. */
function syncConfig(raw: RawSync, parts: ResolvedParts): SyncConfig {
  const sync: SyncConfig = {
    name: parts.name,
    file: parts.file,
    model: parts.model,
    destination: parts.destination,
    primary_key: parts.primaryKey,
    mode: raw.mode ?? 'upsert',
    mapping: Object.assign(Object.create(null), raw.mapping),
    schedule: parts.schedule,
    failed_rows: DEFAULT_FAILED_ROWS_POLICY,
    retention_ms: DEFAULT_RETENTION_MS,
    settings: parts.settings,
    lines: parts.lines,
  };
  if (raw.batch_size !== undefined) sync.batch_size = raw.batch_size;
  if (raw.concurrency !== undefined) sync.concurrency = raw.concurrency;
  if (raw.workers !== undefined) sync.workers = raw.workers;
  if (raw.retry !== undefined) sync.retry = { ...raw.retry };
  if (raw.delete_guard?.max_share !== undefined) sync.delete_guard = { max_share: raw.delete_guard.max_share };
  const alerts = parseSyncAlerts(raw.alerts, { file: parts.file, line: parts.lines.alerts });
  if (alerts) sync.alerts = alerts;
  return sync;
}

export async function loadSyncs(
  dir: string,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
  models: Record<string, ModelConfig>,
  destinations: Record<string, DestinationConfig>,
  projectFile: string = PROJECT_FILE,
): Promise<Record<string, SyncConfig>> {
  const context: SyncContext = { dir, env, secrets, models, destinations, projectFile };
  const extensions = ['.yaml', '.yml'];
  const files = byBaseName(await listFolder(join(context.dir, 'syncs'), extensions), extensions, 'syncs');
  const syncs: Record<string, SyncConfig> = Object.create(null);
  for (const [name, fileName] of files) syncs[name] = await loadSync(context, name, `syncs/${fileName}`);
  return syncs;
}
