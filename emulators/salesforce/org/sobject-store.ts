/**
 * One sObject of the org: its fields, its live records by Id, its deleted records (the recycle bin,
 * which `queryAll` and getDeleted still see), and an index per external-id or unique field, so every
 * lookup costs O(1) however many records it holds. Every write stamps the audit fields from the
 * org's clock.
 */
import { parseDateTime, type OrgClock } from './org-clock.js';
import { recordId, toId18 } from './record-ids.js';
import { AUDIT_FIELDS, ID_FIELD, IS_DELETED_FIELD, type FieldSpec, type ObjectSpec } from './schema.js';

export type SfRecord = Record<string, unknown>;

export function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

export class SObjectStore {
  readonly fields = new Map<string, FieldSpec>();
  /** Live records only: what the write side, `query` and the tests' counts see. */
  readonly records = new Map<string, SfRecord>();
  /** Deleted records by Id, `IsDeleted: true`, stamped when deleted; `queryAll` and getDeleted see them. */
  readonly deleted = new Map<string, SfRecord>();
  /** Field name → value → Id, for external-id and unique fields. */
  readonly indexes = new Map<string, Map<string, string>>();
  /** Lower-case name → field: SOQL names are case-insensitive. */
  private readonly byLowerName = new Map<string, FieldSpec>();
  /** Deleted records older than this were purged (epoch ms); getDeleted's earliestDateAvailable. */
  purgedBefore: number | undefined;
  private sequence = 0;

  constructor(
    readonly spec: ObjectSpec,
    private readonly clock: OrgClock,
  ) {
    const own = spec.fields.filter((f) => f.name !== 'Id' && ![IS_DELETED_FIELD, ...AUDIT_FIELDS].some((s) => s.name === f.name));
    for (const field of [ID_FIELD, IS_DELETED_FIELD, ...own, ...AUDIT_FIELDS]) {
      const copy = { ...field };
      this.fields.set(field.name, copy);
      this.byLowerName.set(field.name.toLowerCase(), copy);
      if (field.externalId || field.unique) this.indexes.set(field.name, new Map());
    }
  }

  /** The field as the integration user sees it: absent when deleted or hidden from it. */
  visible(name: string): FieldSpec | undefined {
    const field = this.fields.get(name);
    return field && field.state !== 'deleted' && field.state !== 'noRead' ? field : undefined;
  }

  /** A visible field by a name in any letter case, as SOQL allows. */
  visibleIgnoringCase(name: string): FieldSpec | undefined {
    const field = this.byLowerName.get(name.toLowerCase());
    return field ? this.visible(field.name) : undefined;
  }

  /** The stored Id (live or deleted) that a 15- or 18-character Id text names, if any. */
  idsMatching(text: string): string[] {
    const id = toId18(text);
    return this.records.has(id) || this.deleted.has(id) ? [id] : [];
  }

  nextId(): string {
    return recordId(this.spec.keyPrefix, ++this.sequence);
  }

  /** Writes the values, stamps the audit fields and keeps the indexes in step. */
  apply(id: string, values: SfRecord): void {
    const stamp = this.clock.stamp();
    const existing = this.records.get(id);
    const current = existing ?? { Id: id, IsDeleted: false, CreatedDate: stamp };
    for (const [name, index] of this.indexes) {
      if (!(name in values)) continue;
      if (!blank(current[name])) index.delete(String(current[name]));
      if (!blank(values[name])) index.set(String(values[name]), id);
    }
    Object.assign(current, values);
    current.LastModifiedDate = stamp;
    current.SystemModstamp = stamp;
    if (!existing) this.records.set(id, current);
  }

  /** Adds records with no checks, all stamped now (one stamp, one index pass per indexed field): `org.seed`. */
  seed(records: SfRecord[]): string[] {
    const stamp = this.clock.stamp();
    const ids = new Array<string>(records.length);
    for (let i = 0; i < records.length; i++) {
      const id = this.nextId();
      ids[i] = id;
      this.records.set(id, { Id: id, IsDeleted: false, ...records[i], CreatedDate: stamp, LastModifiedDate: stamp, SystemModstamp: stamp });
    }
    for (const [name, index] of this.indexes) {
      for (let i = 0; i < records.length; i++) {
        const value = records[i][name];
        if (!blank(value)) index.set(String(value), ids[i]);
      }
    }
    return ids;
  }

  /** A soft delete: the record leaves the live map for the recycle bin, IsDeleted and SystemModstamp set. */
  remove(id: string): void {
    const current = this.records.get(id);
    if (!current) return;
    for (const [name, index] of this.indexes) if (!blank(current[name])) index.delete(String(current[name]));
    this.records.delete(id);
    current.IsDeleted = true;
    current.SystemModstamp = this.clock.stamp();
    this.deleted.set(id, current);
  }

  /** Empties the recycle bin of records deleted before `before` (all by default): getDeleted then refuses earlier windows. */
  purge(before = Number.POSITIVE_INFINITY): void {
    for (const [id, record] of this.deleted) {
      if (parseDateTime(String(record.SystemModstamp)) < before) this.deleted.delete(id);
    }
    this.purgedBefore = Math.min(before, this.clock.now());
  }
}
