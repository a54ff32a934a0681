/**
 * One sObject of the org: its fields, its records by Id, the Ids it has deleted, and an index per
 * external-id or unique field, so every lookup costs O(1) however many records it holds.
 */
import { recordId } from './record-ids.js';
import { ID_FIELD, type FieldSpec, type ObjectSpec } from './schema.js';

export type SfRecord = Record<string, unknown>;

export function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

export class SObjectStore {
  readonly fields = new Map<string, FieldSpec>();
  readonly records = new Map<string, SfRecord>();
  readonly deleted = new Set<string>();
  /** Field name → value → Id, for external-id and unique fields. */
  readonly indexes = new Map<string, Map<string, string>>();
  private sequence = 0;

  constructor(readonly spec: ObjectSpec) {
    for (const field of [ID_FIELD, ...spec.fields]) {
      this.fields.set(field.name, { ...field });
      if (field.externalId || field.unique) this.indexes.set(field.name, new Map());
    }
  }

  /** The field as the integration user sees it: absent when deleted or hidden from it. */
  visible(name: string): FieldSpec | undefined {
    const field = this.fields.get(name);
    return field && field.state !== 'deleted' && field.state !== 'noRead' ? field : undefined;
  }

  nextId(): string {
    return recordId(this.spec.keyPrefix, ++this.sequence);
  }

  /** Writes the values and keeps the indexes in step. */
  apply(id: string, values: SfRecord): void {
    const current = this.records.get(id) ?? { Id: id };
    for (const [name, index] of this.indexes) {
      if (!(name in values)) continue;
      if (!blank(current[name])) index.delete(String(current[name]));
      if (!blank(values[name])) index.set(String(values[name]), id);
    }
    this.records.set(id, Object.assign(current, values));
  }

  remove(id: string): void {
    const current = this.records.get(id);
    if (!current) return;
    for (const [name, index] of this.indexes) if (!blank(current[name])) index.delete(String(current[name]));
    this.records.delete(id);
    this.deleted.add(id);
  }
}
