/**
 * The org's data: its sObjects and their records in memory, and the sObject Collections semantics
 * (per-record results, allOrNone, validation) that the collections route serves and that tests call
 * directly to arrange or inspect a state. Every lookup is by Id or by an indexed field, so a write
 * costs O(records in the request) however many records the org holds.
 */
import { RequestError } from '../errors.js';
import { isWellFormedId } from './record-ids.js';
import { fireRule, ruleMessage, type RecordRule } from './record-rules.js';
import { validateRecord } from './record-validation.js';
import { BulkJobs } from './bulk-jobs.js';
import { BulkQueryJobs } from './bulk-query-jobs.js';
import { saveAll, saveError, type SaveError, type SaveResult } from './save-result.js';
import { SObjectStore, blank, type SfRecord } from './sobject-store.js';
import { defaultObjects, type FieldState, type ObjectSpec } from './schema.js';
import { OrgClock } from './org-clock.js';
import { QueryCursors } from './query-cursors.js';

export class SalesforceOrg {
  private readonly stores = new Map<string, SObjectStore>();
  private readonly byPrefix = new Map<string, SObjectStore>();
  private rules: RecordRule[] = [];
  /** Bulk API 2.0 ingest jobs, written through the same per-record rules. */
  readonly bulk = new BulkJobs(this);
  /** Bulk API 2.0 query jobs (`/jobs/query`); `bulkQuery.hold()` keeps them InProgress. */
  readonly bulkQuery = new BulkQueryJobs(this);
  /** Stamps every write; set or advance it to move the org's time (it runs in real time by default). */
  readonly clock = new OrgClock();
  /** Open query locators (`nextRecordsUrl`); `cursors.ttlMs` and `cursors.maxOpen` bound them. */
  readonly cursors = new QueryCursors(this.clock);

  constructor(objects: ObjectSpec[] = defaultObjects) {
    for (const spec of objects) {
      const store = new SObjectStore(spec, this.clock);
      this.stores.set(spec.name, store);
      this.byPrefix.set(spec.keyPrefix, store);
    }
  }

  /** The records of an object by Id (the live map: read it, do not write it). */
  records(object: string): Map<string, SfRecord> {
    return this.store(object).records;
  }

  /** The deleted records of an object by Id (`IsDeleted: true`), as `queryAll` sees them. */
  deletedRecords(object: string): Map<string, SfRecord> {
    return this.store(object).deleted;
  }

  /**
   * Loads records with no validation, rules or API calls, stamped now: arranging 100,000 records for a
   * test takes well under a second. Returns their Ids in order.
   */
  seed(object: string, records: SfRecord[]): string[] {
    return this.store(object).seed(records);
  }

  /**
   * Changes a record as a user in Salesforce would, with no API call or validation: the values are
   * written and LastModifiedDate/SystemModstamp move to now (a test's "1,000 records changed").
   */
  edit(object: string, id: string, values: SfRecord): void {
    const store = this.store(object);
    if (!store.records.has(id)) throw new Error(`no live ${object} ${id}`);
    store.apply(id, values);
  }

  /** Deletes records as a user would, with no API call: each goes to the recycle bin, stamped now. */
  remove(object: string, ids: string[]): void {
    const store = this.store(object);
    for (const id of ids) store.remove(id);
  }

  /** Empties an object's recycle bin of records deleted before `before` (all by default), as Salesforce's purge does. */
  purgeDeleted(object: string, before?: Date): void {
    this.store(object).purge(before?.getTime());
  }

  /** The Id of the record whose indexed `field` holds `value`. */
  idBy(object: string, field: string, value: unknown): string | undefined {
    return this.store(object).indexes.get(field)?.get(String(value));
  }

  setFieldState(object: string, field: string, state: FieldState): void {
    const spec = this.store(object).fields.get(field);
    if (!spec) throw new Error(`no field ${object}.${field}`);
    spec.state = state;
  }

  /** Field-level security's read permission: unreadable, the field leaves the describe and queries naming it are INVALID_FIELD. */
  setFieldReadable(object: string, field: string, readable: boolean): void {
    this.setFieldState(object, field, readable ? 'ok' : 'noRead');
  }

  addRule(rule: RecordRule): void {
    this.rules.push({ ...rule });
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Every sObject, in declaration order (for the describe routes). */
  sobjects(): SObjectStore[] {
    return [...this.stores.values()];
  }

  sobject(object: string): SObjectStore | undefined {
    return this.stores.get(object);
  }

  /** An sObject by a name in any letter case, as SOQL's FROM allows. */
  sobjectIgnoringCase(object: string): SObjectStore | undefined {
    const lower = object.toLowerCase();
    return [...this.stores.values()].find((store) => store.spec.name.toLowerCase() === lower);
  }

  /** The sObject a request names, or the whole-request INVALID_TYPE Salesforce answers for an unknown one. */
  requestedType(type: unknown): SObjectStore {
    const store = typeof type === 'string' ? this.stores.get(type) : undefined;
    if (!store) {
      throw new RequestError(
        400,
        'INVALID_TYPE',
        `sObject type '${String(type)}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return store;
  }

  private store(object: string): SObjectStore {
    const store = this.stores.get(object);
    if (!store) throw new Error(`no sObject ${object}`);
    return store;
  }

  /** Whole-request check every write body gets: each named field must exist and be visible. */
  private checkFieldsExist(store: SObjectStore, records: SfRecord[]): void {
    for (const record of records) {
      for (const name of Object.keys(record)) {
        if (name === 'attributes' || name === 'id') continue;
        if (!store.visible(name)) {
          throw new RequestError(400, 'INVALID_FIELD', `No such column '${name}' on sobject of type ${store.spec.name}`);
        }
      }
    }
  }

  /** POST /composite/sobjects */
  create(records: SfRecord[], allOrNone: boolean): SaveResult[] {
    const typed = records.map((r) => {
      const { attributes, ...values } = r;
      return { store: this.requestedType((attributes as { type?: unknown } | undefined)?.type), values };
    });
    for (const { store, values } of typed) this.checkFieldsExist(store, [values]);
    return saveAll(typed, allOrNone, ({ store, values }, write) => {
      const errors = validateRecord(store, this.rules, values, null);
      if (errors.length > 0) return { result: { success: false, errors } };
      if (!write) return { result: { success: true, errors: [] } };
      const id = store.nextId();
      store.apply(id, values);
      return { result: { id, success: true, errors: [] } };
    });
  }

  /** PATCH /composite/sobjects: records carry `id`. */
  update(records: SfRecord[], allOrNone: boolean): SaveResult[] {
    const typed = records.map((r) => {
      const { attributes, id, ...values } = r;
      return { store: this.requestedType((attributes as { type?: unknown } | undefined)?.type), id: String(id ?? ''), values };
    });
    for (const { store, values } of typed) this.checkFieldsExist(store, [values]);
    return saveAll(typed, allOrNone, ({ store, id, values }, write) => {
      const problem = this.findForWrite(store, id);
      if (problem) return { result: { id, success: false, errors: [problem] } };
      const errors = validateRecord(store, this.rules, values, id);
      if (errors.length > 0) return { result: { id, success: false, errors } };
      if (write) store.apply(id, values);
      return { result: { id, success: true, errors: [] } };
    });
  }

  /** PATCH /composite/sobjects/{object}/{keyField}: match on the key field, create when nothing matches. */
  upsert(object: string, keyField: string, records: SfRecord[], allOrNone: boolean): SaveResult[] {
    const store = this.requestedType(object);
    const key = store.visible(keyField);
    if (!key || !(key.externalId || key.idLookup)) {
      throw new RequestError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${keyField}`);
    }
    const plain = records.map(({ attributes, ...values }) => values);
    this.checkFieldsExist(store, plain);
    return saveAll(plain, allOrNone, (values, write) => {
      const keyValue = values[keyField];
      if (blank(keyValue)) {
        return { result: { success: false, errors: [saveError('MISSING_ARGUMENT', `${keyField} not specified`, [keyField])] } };
      }
      const existingId =
        keyField === 'Id'
          ? store.records.has(String(keyValue))
            ? String(keyValue)
            : undefined
          : store.indexes.get(keyField)?.get(String(keyValue));
      const errors = validateRecord(store, this.rules, values, existingId ?? null, keyField);
      if (errors.length > 0) return { result: { success: false, errors } };
      const id = existingId ?? (write ? store.nextId() : undefined);
      if (write && id) store.apply(id, values);
      return { result: { id, success: true, errors: [], created: existingId === undefined } };
    });
  }

  /** DELETE /composite/sobjects?ids=… */
  destroy(ids: string[], allOrNone: boolean): SaveResult[] {
    return saveAll(ids, allOrNone, (id, write) => {
      const store = this.byPrefix.get(id.slice(0, 3));
      const problem = store ? this.findForWrite(store, id) : saveError('MALFORMED_ID', `malformed id ${id}`, ['Id']);
      if (problem) return { result: { id, success: false, errors: [problem] } };
      const rule = fireRule(this.rules, store!.spec.name, store!.records.get(id)!);
      if (rule) return { result: { id, success: false, errors: [saveError(rule.statusCode, ruleMessage(rule))] } };
      if (write) store!.remove(id);
      return { result: { id, success: true, errors: [] } };
    });
  }

  private findForWrite(store: SObjectStore, id: string): SaveError | undefined {
    if (!isWellFormedId(id) || id.slice(0, 3) !== store.spec.keyPrefix) {
      return saveError('MALFORMED_ID', `${store.spec.name} ID: id value of incorrect type: ${id}`, ['Id']);
    }
    if (store.deleted.has(id)) return saveError('ENTITY_IS_DELETED', 'entity is deleted');
    if (!store.records.has(id)) return saveError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    return undefined;
  }
}
