/**
 * The config stage: reads a project folder into a validated `ProjectConfig`, or throws a UserError
 * naming `file:line`, the field, the problem and the fix. No database or network access here;
 * checks that need the warehouse (mapped columns exist) come later, using `SyncConfig.lines`.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { maskable } from '../../shared/redact.js';
import { UserError } from '../../shared/errors.js';
import type { ProjectConfig } from './types.js';
import { loadModels } from './models.js';
import { loadProjectFile } from './project-file.js';
import { loadSyncs } from './syncs.js';
import { loadExtracts } from './extracts.js';
import { checkSyncChannels } from './alerts.js';

/**
 * @param secrets collects the values read from the environment as they are read, so that a caller can
 *   mask them out of an error thrown before the project is loaded whole.
 */
export async function loadProject(dir: string, env: NodeJS.ProcessEnv = process.env, secrets = new Set<string>()): Promise<ProjectConfig> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError(`project directory ${root} not found.`, { hint: 'pass the folder holding hightouch-like.config.yaml.' });
  }
  const project = await loadProjectFile(root, env, secrets);
  const models = await loadModels(root, env, secrets);
  const syncs = await loadSyncs(root, env, secrets, models, project.destinations, project.file);
  const extracts = await loadExtracts(root, env, secrets, project.sources, project.file);
  for (const sync of Object.values(syncs))
    checkSyncChannels(sync.alerts, project.alerts.channels, { file: sync.file, line: sync.lines.alerts });
  return {
    dir: root,
    file: project.file,
    warehouse: project.warehouse,
    state: project.state,
    destinations: project.destinations,
    service: project.service,
    alerts: project.alerts,
    models,
    syncs,
    sources: project.sources,
    extracts,
    landing: project.landing,
    lines: project.lines,
    secrets: maskable(secrets),
  };
}
