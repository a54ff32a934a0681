/**
 * What an org's sObjects look like: the field and object specs a test declares, and the two objects
 * (Contact, Account) an emulator holds when a test declares none.
 */

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
  /** Digits in all and after the point, for double, currency and percent fields. Default: 18 and 0. */
  precision?: number;
  scale?: number;
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

/** Every sObject has it, whatever its spec lists. */
export const ID_FIELD: FieldSpec = {
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

/** Audit fields every sObject has, set by the org on each write from its clock; no client writes them. */
const SYSTEM_FIELD = { nillable: false, createable: false, updateable: false, defaultedOnCreate: true } as const;

/** Listed right after `Id`, as Salesforce's describe does. */
export const IS_DELETED_FIELD: FieldSpec = { name: 'IsDeleted', type: 'boolean', label: 'Deleted', ...SYSTEM_FIELD };

/** Listed after the object's own fields. SystemModstamp also moves on a delete (getDeleted's deletedDate). */
export const AUDIT_FIELDS: FieldSpec[] = [
  { name: 'CreatedDate', type: 'datetime', label: 'Created Date', ...SYSTEM_FIELD },
  { name: 'LastModifiedDate', type: 'datetime', label: 'Last Modified Date', ...SYSTEM_FIELD },
  { name: 'SystemModstamp', type: 'datetime', label: 'System Modstamp', ...SYSTEM_FIELD },
];

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
