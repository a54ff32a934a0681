/**
 * The destination field rows are matched on, shared by connectors that address rows by a key:
 * `external_id` when the sync sets it, else the field the primary key is mapped to.
 */
import type { OutboundRow, SyncProblem, WriteTarget } from '../destination.js';
import { jsonField } from '../../shared/json-field.js';

export interface SyncKey {
  field: string;
  /** True when the key comes from `external_id` rather than the primary-key mapping. */
  external: boolean;
}

export function syncKey(target: WriteTarget): SyncKey | null {
  const externalId = target.sync.settings.external_id;
  if (typeof externalId === 'string' && externalId !== '') return { field: externalId, external: true };
  if (target.sync.keyField) return { field: target.sync.keyField, external: false };
  return null;
}

/** `requireKey: false` for destinations that can fall back to the model's primary key (http sends it as `key`). */
export function syncKeyProblems(target: WriteTarget, { requireKey = true } = {}): SyncProblem[] {
  const externalId = target.sync.settings.external_id;
  if (externalId !== undefined && (typeof externalId !== 'string' || externalId === '')) {
    return [{ field: 'external_id', message: 'must be the name of a mapped destination field' }];
  }
  if (typeof externalId === 'string' && !target.sync.fields.includes(externalId)) {
    return [
      {
        field: 'external_id',
        message: `"${externalId}" is not a mapped destination field; add it to mapping or name one that is`,
      },
    ];
  }
  if (requireKey && !syncKey(target)) {
    return [
      {
        field: 'mapping',
        message: 'no field identifies a row in the destination; map the primary key to a destination field or set external_id',
      },
    ];
  }
  return [];
}

/**
 * The value a row is matched on, or undefined when it has none.
 * Deletes carry no fields: a primary-key key falls back to `row.key`, an `external_id` key to the
 * `destinationId` the connector returned when the row was last acknowledged.
 */
export function rowKeyValue(row: OutboundRow, key: SyncKey): unknown {
  // A row kept as payload text is not parsed whole for its key (shared/json-field.ts).
  const read = row.fieldsText === undefined ? null : jsonField(row.fieldsText, key.field);
  const value = read ? read.value : row.fields[key.field];
  if (value !== undefined && value !== null) return value;
  if (!key.external) return row.key;
  return row.destinationId ?? undefined;
}
