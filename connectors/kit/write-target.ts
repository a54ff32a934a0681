/**
 * Builds the WriteTarget a connector is handed, from a sync's resolved parts. The config loader builds
 * one to run `validateSync`, the planner and the run build one per sync: all through here, so the
 * key field is decided in one place.
 *
 * `keyField` is the first mapped destination field whose model column is the primary key (null when
 * the key is not mapped). It is half of a row's match key: `external_id`, a connector's own sync key,
 * wins over it (connectors/destinations/sync-key.ts).
 */
import type { SyncMode, WriteTarget } from '../destination.js';

export interface WriteTargetParts {
  projectDir?: string;
  destination: { name: string; type: string; settings: Record<string, unknown> };
  sync: {
    name: string;
    mode: SyncMode;
    primaryKey: string;
    /** Destination field → model column, in file order. */
    mapping: Record<string, string>;
    /** The connector's keys of the sync file, already checked against its `syncSchema`. */
    settings: Record<string, unknown>;
  };
  secrets?: string[];
}

export function keyFieldOf(mapping: Record<string, string>, primaryKey: string): string | null {
  return Object.keys(mapping).find((field) => mapping[field] === primaryKey) ?? null;
}

export function buildWriteTarget(parts: WriteTargetParts): WriteTarget {
  const { destination, sync } = parts;
  const target: WriteTarget = {
    destination: { name: destination.name, type: destination.type, settings: destination.settings },
    sync: {
      name: sync.name,
      mode: sync.mode,
      keyField: keyFieldOf(sync.mapping, sync.primaryKey),
      fields: Object.keys(sync.mapping),
      settings: sync.settings,
    },
  };
  if (parts.projectDir !== undefined) target.projectDir = parts.projectDir;
  if (parts.secrets !== undefined) target.secrets = parts.secrets;
  return target;
}
