/** The syncs a run is asked for, by name or all of them; a name the project lacks is bad input. */
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { UserError } from '../../shared/errors.js';

export function selectSyncs(project: ProjectConfig, names: string[], all: boolean): SyncConfig[] {
  if (all) {
    const every = Object.values(project.syncs);
    if (!every.length) throw new UserError('the project has no syncs', { file: 'syncs/', hint: 'add a syncs/<name>.yaml file.' });
    return every;
  }
  const defined = Object.keys(project.syncs).join(', ') || 'none';
  if (!names.length) throw new UserError('name at least one sync, or pass --all', { hint: `syncs: ${defined}.` });
  return names.map((name) => {
    const sync = Object.hasOwn(project.syncs, name) ? project.syncs[name] : undefined;
    if (!sync) throw new UserError(`no sync named "${name}"`, { file: `syncs/${name}.yaml`, hint: `defined syncs: ${defined}.` });
    return sync;
  });
}
