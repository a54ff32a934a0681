/** `syncs/<name>.yaml`: which model goes to which destination, how, and with which field mapping. */
import { join } from 'node:path';
import type { WriteTarget } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import { UserError } from '../../shared/errors.js';
import type { DestinationConfig, ModelConfig, RetryPolicy, SyncConfig, SyncMode } from './types.js';
import { unknownKeyHint } from './did-you-mean.js';
import { substituteEnv } from './env-substitution.js';
import { byBaseName, listFolder } from './folder.js';
import { PROJECT_FILE } from './project-file.js';
import { parseSchedule } from './schedule.js';
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

export async function loadSync(
  dir: string,
  name: string,
  file: string,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
  models: Record<string, ModelConfig>,
  destinations: Record<string, DestinationConfig>,
  projectFile: string = PROJECT_FILE,
): Promise<SyncConfig> {
  const source = await readYaml(join(dir, file), file);
  const value = substituteEnv(source, env, secrets) ?? {};
  validateWithSchema(syncJsonSchema(), value, source, { secrets });
  const raw = value as RawSync;
  const lines = syncLines(raw, source);
  const at = (field: string, hint: string) => ({ file, line: lines[field] ?? source.lineOf([]), field, hint });

  // Own keys only: `model: constructor` must not find Object.prototype.constructor.
  const model = Object.hasOwn(models, raw.model) ? models[raw.model] : undefined;
  if (!model) {
    throw new UserError(
      `model "${raw.model}" not found.`,
      at('model', `create models/${raw.model}.sql, or use one of the defined models: ${listNames(Object.keys(models))}.`),
    );
  }
  const destination = Object.hasOwn(destinations, raw.destination) ? destinations[raw.destination] : undefined;
  if (!destination) {
    throw new UserError(
      `destination "${raw.destination}" is not defined.`,
      at(
        'destination',
        `define it under destinations: in ${projectFile}, or use one of: ${listNames(Object.keys(destinations))}.`,
      ),
    );
  }
  const connector = getConnector(destination.type)!;

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

  const sync: SyncConfig = {
    name,
    file,
    model: model.name,
    destination: destination.name,
    primary_key: primaryKey,
    mode: raw.mode ?? 'upsert',
    mapping: Object.assign(Object.create(null), raw.mapping),
    schedule: parseSchedule(raw.schedule, source),
    settings,
    lines,
  };
  if (raw.batch_size !== undefined) sync.batch_size = raw.batch_size;
  if (raw.concurrency !== undefined) sync.concurrency = raw.concurrency;
  if (raw.workers !== undefined) sync.workers = raw.workers;
  if (raw.retry !== undefined) sync.retry = { ...raw.retry };
  if (raw.delete_guard?.max_share !== undefined) sync.delete_guard = { max_share: raw.delete_guard.max_share };

  const target: WriteTarget = {
    destination: { name: destination.name, type: destination.type, settings: destination.settings },
    sync: {
      name,
      mode: sync.mode,
      keyField: Object.keys(sync.mapping).find((field) => sync.mapping[field] === primaryKey) ?? null,
      fields: Object.keys(sync.mapping),
      settings,
    },
  };
  const problem = connector.validateSync?.(target)[0];
  if (problem) {
    const line = lines[problem.field] ?? source.lineOf(problem.field.split('.'));
    throw new UserError(problem.message, { file, line, field: problem.field });
  }
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
  const files = byBaseName(await listFolder(join(dir, 'syncs'), ['.yaml', '.yml']), ['.yaml', '.yml'], 'syncs');
  const syncs: Record<string, SyncConfig> = Object.create(null);
  for (const [name, fileName] of files) {
    syncs[name] = await loadSync(dir, name, `syncs/${fileName}`, env, secrets, models, destinations, projectFile);
  }
  return syncs;
}
