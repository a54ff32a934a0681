/**
 * Checks that need the outside world, before any state is written: each model's SQL runs in the
 * warehouse, the primary key and every mapped column exist in it, and each destination answers.
 */
import { DestinationError } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { redact } from '../../shared/redact.js';
import { openWarehouse } from '../db/warehouse.js';
import { UserError } from '../../shared/errors.js';
import { writeTarget } from '../config/write-target.js';

export async function preflight(project: ProjectConfig, syncs: SyncConfig[]): Promise<void> {
  const warehouse = await openWarehouse(project);
  try {
    const columnsByModel = new Map<string, string[]>();
    for (const sync of syncs) {
      const model = project.models[sync.model];
      let columns = columnsByModel.get(model.name);
      if (!columns) {
        columns = await warehouse.columns(model);
        columnsByModel.set(model.name, columns);
      }
      const known = new Set(columns);
      const list = columns.join(', ');
      if (!known.has(sync.primary_key)) {
        throw new UserError(`primary key column "${sync.primary_key}" is not in model ${model.name} (columns: ${list})`, {
          file: sync.file,
          line: sync.lines.primary_key,
          field: 'primary_key',
          hint: `name one of the model's columns, or add it to ${model.file}.`,
        });
      }
      for (const [field, column] of Object.entries(sync.mapping)) {
        if (!known.has(column)) {
          throw new UserError(`column "${column}" is not in model ${model.name} (columns: ${list})`, {
            file: sync.file,
            line: sync.lines[`mapping.${field}`] ?? sync.lines.mapping,
            field: `mapping.${field}`,
            hint: `map a column the model returns, or add it to ${model.file}.`,
          });
        }
      }
    }
  } finally {
    await warehouse.close();
  }

  const checked = new Set<string>();
  for (const sync of syncs) {
    const destination = project.destinations[sync.destination];
    const target = writeTarget(project, sync);
    const connector = getConnector(destination.type)!;
    const id = JSON.stringify([sync.destination, target.sync.settings, target.sync.fields]);
    if (checked.has(id)) continue;
    checked.add(id);
    try {
      await connector.check(target);
    } catch (error) {
      const message = error instanceof DestinationError ? error.failure.message : (error as Error).message;
      const remediation = error instanceof DestinationError ? error.failure.remediation : undefined;
      throw new UserError(`destination "${destination.name}" (${destination.type}) is not usable: ${redact(message, project.secrets)}`, {
        file: project.file,
        line: project.lines?.[`destinations.${destination.name}`],
        field: `destinations.${destination.name}`,
        hint: remediation ?? 'check that it is running and that the settings are right.',
      });
    }
  }
}
