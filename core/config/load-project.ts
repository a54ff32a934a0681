/**
 * The config stage: reads a project folder into a validated `ProjectConfig`, or throws a UserError
 * naming `file:line`, the field, the problem and the fix. No database or network access here;
 * checks that need the warehouse (mapped columns exist) come later, using `SyncConfig.lines`.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { ProjectConfig } from './types.js';
import { loadModels } from './models.js';
import { loadProjectFile } from './project-file.js';
import { loadSyncs } from './syncs.js';

export async function loadProject(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<ProjectConfig> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError(`project directory ${root} not found.`, { hint: 'pass the folder holding hightouch-like.config.yaml.' });
  }
  const secrets = new Set<string>();
  const project = await loadProjectFile(root, env, secrets);
  const models = await loadModels(root, env, secrets);
  const syncs = await loadSyncs(root, env, secrets, models, project.destinations, project.file);
  return {
    dir: root,
    file: project.file,
    warehouse: project.warehouse,
    state: project.state,
    destinations: project.destinations,
    models,
    syncs,
    lines: project.lines,
    secrets: [...secrets],
  };
}
