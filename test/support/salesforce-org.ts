/**
 * The data side of the Salesforce emulator: sObjects with a describe, records in memory, and the
 * sObject Collections semantics (per-record results, allOrNone, validation) that the HTTP layer in
 * `salesforce-emulator.ts` serves. Every lookup is by Id or by an indexed field, so a write costs
 * O(records in the request) however many records the org holds.
 */
import { isWellFormedId, recordId } from './salesforce-ids.js';

/**
 * `deleted` and `noRead` drop the field from the describe (a write naming it is a whole-request
 * INVALID_FIELD); `readOnly` keeps it visible but refuses writes to it per record.
 */
export type FieldState = 'ok' | 'deleted' | 'noRead' | 'readOnly';

export interface FieldSpec {
  name: string;
  /** id, string, email, phone, picklist, boolean, int, double, date, datetime, reference, … Default: string. */
  type?: string;
  label?: string;
  /** Maximum length of string-like values. Default: 255. */
  length?: number;
  externalId?: boolean;
  idLookup?: boolean;
  unique?: boolean;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  defaultedOnCreate?: boolean;
  custom?: boolean;
  state?: FieldState;
}

export interface ObjectSpec {
  name: string;
  /** The 3-character Id prefix, e.g. 003 for Contact. */
  keyPrefix: string;
  fields: FieldSpec[];
  deletable?: boolean;
}

export interface SaveError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SaveError[];
  created?: boolean;
}

/** A failure of the whole request, answered as `[{message, errorCode}]` with this HTTP status. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** Fail records whose `field` equals `value` with `statusCode`, `times` times (default: always). */
export interface RecordRule {
  object?: string;
  field: string;
  value: unknown;
  statusCode: string;
  message?: string;
  fields?: string[];
  times?: number;
}

type SfRecord = Record<string, unknown>;

export const defaultObjects: ObjectSpec[] = [
  {
    name: 'Contact',
    keyPrefix: '003',
    fields: [
      { name: 'LastName', label: 'Last Name', length: 80, nillable: false },
      { name: 'FirstName', label: 'First Name', length: 40 },
      { name: 'Email', type: 'email', length: 80, idLookup: true },
      { name: 'Phone', type: 'phone', length: 40 },
      { name: 'NumberOfEmployees__c', label: 'Employees', type: 'int', custom: true },
      { name: 'External_Id__c', label: 'External Id', length: 80, externalId: true, idLookup: true, unique: true, custom: true },
      { name: 'Name', label: 'Full Name', length: 121, createable: false, updateable: false, defaultedOnCreate: true },
    ],
  },
  {
    name: 'Account',
    keyPrefix: '001',
    fields: [
      { name: 'Name', label: 'Account Name', nillable: false, idLookup: true },
      { name: 'External_Id__c', label: 'External Id', length: 80, externalId: true, idLookup: true, unique: true, custom: true },
    ],
  },
];

const ID_FIELD: FieldSpec = {
  name: 'Id',
  type: 'id',
  label: 'Record ID',
  length: 18,
  idLookup: true,
  nillable: false,
  createable: false,
  updateable: false,
  defaultedOnCreate: true,
};

const INT_RANGE = 2 ** 31;

function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

class SObjectStore {
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

const saveError = (statusCode: string, message: string, fields: string[] = []): SaveError => ({ statusCode, message, fields });

export class SalesforceOrg {
  private readonly stores = new Map<string, SObjectStore>();
  private readonly byPrefix = new Map<string, SObjectStore>();
  private rules: RecordRule[] = [];

  constructor(objects: ObjectSpec[] = defaultObjects) {
    for (const spec of objects) {
      const store = new SObjectStore(spec);
      this.stores.set(spec.name, store);
      this.byPrefix.set(spec.keyPrefix, store);
    }
  }

  /** The records of an object by Id (the live map: read it, do not write it). */
  records(object: string): Map<string, SfRecord> {
    return this.store(object).records;
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

  addRule(rule: RecordRule): void {
    this.rules.push({ ...rule });
  }

  clearRules(): void {
    this.rules = [];
  }

  private store(object: string): SObjectStore {
    const store = this.stores.get(object);
    if (!store) throw new Error(`no sObject ${object}`);
    return store;
  }

  private typeStore(type: unknown): SObjectStore {
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

  describeGlobal(): object {
    return {
      encoding: 'UTF-8',
      maxBatchSize: 200,
      sobjects: [...this.stores.values()].map((s) => ({ ...this.objectSummary(s), urls: this.urls(s) })),
    };
  }

  describe(object: string): object | undefined {
    const store = this.stores.get(object);
    if (!store) return undefined;
    const fields = [...store.fields.values()].filter((f) => store.visible(f.name)).map((f) => describeField(f));
    return {
      ...this.objectSummary(store),
      urls: this.urls(store),
      fields,
      childRelationships: [],
      recordTypeInfos: [],
    };
  }

  private objectSummary(store: SObjectStore) {
    const { name } = store.spec;
    return {
      name,
      label: name,
      custom: name.endsWith('__c'),
      keyPrefix: store.spec.keyPrefix,
      createable: true,
      updateable: true,
      deletable: store.spec.deletable ?? true,
      queryable: true,
    };
  }

  private urls(store: SObjectStore) {
    const base = `/services/data/v62.0/sobjects/${store.spec.name}`;
    return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
  }

  /** Whole-request checks every write body gets: each named field must exist and be visible. */
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

  /** Per-record validation, before anything is written. `existing` is set for updates. */
  private validate(store: SObjectStore, values: SfRecord, existingId: string | null, keyField?: string): SaveError[] {
    const creating = existingId === null;
    for (const rule of this.rules) {
      if ((rule.object ?? store.spec.name) !== store.spec.name) continue;
      if (values[rule.field] !== rule.value || rule.times === 0) continue;
      if (rule.times !== undefined) rule.times--;
      return [saveError(rule.statusCode, rule.message ?? `${rule.statusCode} (injected)`, rule.fields ?? [])];
    }
    const notWritable: string[] = [];
    for (const name of Object.keys(values)) {
      if (name === 'Id' || name === keyField) continue;
      const field = store.fields.get(name)!;
      const allowed = field.state !== 'readOnly' && (creating ? field.createable !== false : field.updateable !== false);
      if (!allowed) notWritable.push(name);
    }
    if (notWritable.length > 0) {
      const list = notWritable.join(', ');
      return [
        saveError(
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${list}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          notWritable,
        ),
      ];
    }
    for (const [name, value] of Object.entries(values)) {
      if (blank(value) || name === 'Id') continue;
      const field = store.fields.get(name)!;
      const label = field.label ?? name;
      const type = field.type ?? 'string';
      if (type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(value))) {
        return [saveError('INVALID_EMAIL_ADDRESS', `${label}: invalid email address: ${String(value)}`, [name])];
      }
      if (type === 'int' && (typeof value !== 'number' || Math.abs(value) >= INT_RANGE)) {
        return [saveError('NUMBER_OUTSIDE_VALID_RANGE', `${label}: value outside of valid range on numeric field: ${String(value)}`, [name])];
      }
      const max = field.length ?? 255;
      if (typeof value === 'string' && type !== 'int' && value.length > max) {
        return [saveError('STRING_TOO_LONG', `${label}: data value too large: ${value.slice(0, 40)} (max length=${max})`, [name])];
      }
    }
    const missing: string[] = [];
    for (const field of store.fields.values()) {
      if (field.type === 'id' || field.nillable !== false || field.defaultedOnCreate || field.createable === false) continue;
      if (!store.visible(field.name)) continue;
      const given = field.name in values;
      if (creating ? blank(values[field.name]) : given && blank(values[field.name])) missing.push(field.name);
    }
    if (missing.length > 0) {
      return [saveError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing)];
    }
    for (const [name, index] of store.indexes) {
      const field = store.fields.get(name)!;
      if (!field.unique || blank(values[name])) continue;
      const holder = index.get(String(values[name]));
      if (holder !== undefined && holder !== existingId) {
        return [saveError('DUPLICATE_VALUE', `duplicate value found: ${name} duplicates value on record with id: ${holder}`)];
      }
    }
    return [];
  }

  /**
   * Runs `plan` for each record. Without allOrNone each record is validated and written in turn; with
   * it every record is validated first and nothing is written if any fails (the good ones are then
   * reported as ALL_OR_NONE_OPERATION_ROLLED_BACK, still with HTTP 200).
   */
  private collection<T>(
    items: T[],
    allOrNone: boolean,
    step: (item: T, write: boolean) => { result: SaveResult; commit?: () => void },
  ): SaveResult[] {
    if (!allOrNone) return items.map((item) => step(item, true).result);
    const dry = items.map((item) => step(item, false));
    if (dry.every((d) => d.result.success)) return items.map((item) => step(item, true).result);
    return dry.map(({ result }) =>
      result.success
        ? {
            ...result,
            success: false,
            errors: [
              saveError(
                'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                'Record rolled back because not all records were valid and the request was using AllOrNone header',
              ),
            ],
          }
        : result,
    );
  }

  /** POST /composite/sobjects */
  create(records: SfRecord[], allOrNone: boolean): SaveResult[] {
    const typed = records.map((r) => {
      const { attributes, ...values } = r;
      return { store: this.typeStore((attributes as { type?: unknown } | undefined)?.type), values };
    });
    for (const { store, values } of typed) this.checkFieldsExist(store, [values]);
    return this.collection(typed, allOrNone, ({ store, values }, write) => {
      const errors = this.validate(store, values, null);
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
      return { store: this.typeStore((attributes as { type?: unknown } | undefined)?.type), id: String(id ?? ''), values };
    });
    for (const { store, values } of typed) this.checkFieldsExist(store, [values]);
    return this.collection(typed, allOrNone, ({ store, id, values }, write) => {
      const problem = this.findForWrite(store, id);
      if (problem) return { result: { id, success: false, errors: [problem] } };
      const errors = this.validate(store, values, id);
      if (errors.length > 0) return { result: { id, success: false, errors } };
      if (write) store.apply(id, values);
      return { result: { id, success: true, errors: [] } };
    });
  }

  /** PATCH /composite/sobjects/{object}/{keyField}: match on the key field, create when nothing matches. */
  upsert(object: string, keyField: string, records: SfRecord[], allOrNone: boolean): SaveResult[] {
    const store = this.typeStore(object);
    const key = store.visible(keyField);
    if (!key || !(key.externalId || key.idLookup)) {
      throw new RequestError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${keyField}`);
    }
    const plain = records.map(({ attributes, ...values }) => values);
    this.checkFieldsExist(store, plain);
    return this.collection(plain, allOrNone, (values, write) => {
      const keyValue = values[keyField];
      if (blank(keyValue)) {
        return { result: { success: false, errors: [saveError('MISSING_ARGUMENT', `${keyField} not specified`, [keyField])] } };
      }
      const existingId =
        keyField === 'Id' ? (store.records.has(String(keyValue)) ? String(keyValue) : undefined) : store.indexes.get(keyField)?.get(String(keyValue));
      const errors = this.validate(store, values, existingId ?? null, keyField);
      if (errors.length > 0) return { result: { success: false, errors } };
      const id = existingId ?? (write ? store.nextId() : undefined);
      if (write && id) store.apply(id, values);
      return { result: { id, success: true, errors: [], created: existingId === undefined } };
    });
  }

  /** DELETE /composite/sobjects?ids=… */
  destroy(ids: string[], allOrNone: boolean): SaveResult[] {
    return this.collection(ids, allOrNone, (id, write) => {
      const store = this.byPrefix.get(id.slice(0, 3));
      const problem = store ? this.findForWrite(store, id) : saveError('MALFORMED_ID', `malformed id ${id}`, ['Id']);
      if (problem) return { result: { id, success: false, errors: [problem] } };
      for (const rule of this.rules) {
        const record = store!.records.get(id)!;
        if ((rule.object ?? store!.spec.name) !== store!.spec.name || record[rule.field] !== rule.value || rule.times === 0) continue;
        if (rule.times !== undefined) rule.times--;
        return { result: { id, success: false, errors: [saveError(rule.statusCode, rule.message ?? `${rule.statusCode} (injected)`)] } };
      }
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

  /**
   * GET /query: the subset the connector sends, `SELECT f, … FROM T WHERE k IN (v, …)` or `k = v`, on
   * Id or an indexed field, answered in one page.
   */
  query(soql: string, version: string): object {
    const match = /^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+(IN|=)\s+(.+?)\s*$/is.exec(soql);
    if (!match) {
      throw new RequestError(400, 'MALFORMED_QUERY', `the emulator answers only SELECT … FROM T WHERE field IN (…): ${soql}`);
    }
    const [, fieldList, object, keyField, , valueText] = match;
    const store = this.typeStore(object);
    const fields = fieldList.split(',').map((f) => f.trim());
    for (const name of [...fields, keyField]) {
      if (!store.visible(name)) {
        throw new RequestError(400, 'INVALID_FIELD', `No such column '${name}' on entity '${object}'.`);
      }
    }
    const index = store.indexes.get(keyField);
    if (keyField !== 'Id' && !index) {
      throw new RequestError(400, 'MALFORMED_QUERY', `the emulator filters only on Id or an indexed field, not ${keyField}`);
    }
    const records: SfRecord[] = [];
    for (const value of soqlValues(valueText)) {
      const id = keyField === 'Id' ? value : index!.get(value);
      const record = id === undefined ? undefined : store.records.get(id);
      if (!record) continue;
      const row: SfRecord = { attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${record.Id}` } };
      for (const name of fields) row[name] = record[name] ?? null;
      records.push(row);
    }
    return { totalSize: records.length, done: true, records };
  }
}

/** The values of `('a', 'b\'c', 5)` or of a single `'a'`, as the index keys them (text). */
function soqlValues(text: string): string[] {
  const body = text.startsWith('(') && text.endsWith(')') ? text.slice(1, -1) : text;
  const values: string[] = [];
  let i = 0;
  while (i < body.length) {
    while (body[i] === ' ' || body[i] === ',') i++;
    if (i >= body.length) break;
    if (body[i] === "'") {
      let value = '';
      i++;
      while (i < body.length && body[i] !== "'") {
        if (body[i] === '\\' && (body[i + 1] === "'" || body[i + 1] === '\\')) i++;
        value += body[i++];
      }
      i++;
      values.push(value);
    } else {
      const end = body.indexOf(',', i);
      values.push(body.slice(i, end === -1 ? undefined : end).trim());
      i = end === -1 ? body.length : end;
    }
  }
  return values;
}

function describeField(field: FieldSpec): object {
  const type = field.type ?? 'string';
  const readOnly = field.state === 'readOnly';
  const length = type === 'int' || type === 'double' || type === 'boolean' ? 0 : (field.length ?? 255);
  return {
    name: field.name,
    label: field.label ?? field.name,
    type,
    soapType: type === 'id' ? 'tns:ID' : type === 'int' ? 'xsd:int' : type === 'double' ? 'xsd:double' : 'xsd:string',
    length,
    byteLength: length * 3,
    precision: type === 'double' ? 18 : 0,
    scale: 0,
    digits: type === 'int' ? 9 : 0,
    createable: !readOnly && field.createable !== false,
    updateable: !readOnly && field.updateable !== false,
    nillable: field.nillable !== false,
    defaultedOnCreate: field.defaultedOnCreate ?? false,
    calculated: false,
    autoNumber: false,
    externalId: field.externalId ?? false,
    idLookup: field.idLookup ?? false,
    unique: field.unique ?? false,
    caseSensitive: false,
    custom: field.custom ?? false,
    deprecatedAndHidden: false,
    referenceTo: [],
    relationshipName: null,
    restrictedPicklist: false,
    picklistValues: [],
  };
}
