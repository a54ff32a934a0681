/**
 * `GET /sobjects` (describeGlobal) and `GET /sobjects/{T}/describe`: the object and field metadata
 * jsforce's `describe` returns, with only the fields the integration user can see.
 */
import { NOT_FOUND_MESSAGE, errorBody } from '../errors.js';
import type { SObjectStore } from '../org/sobject-store.js';
import type { FieldSpec } from '../org/schema.js';
import type { DataRoute } from './route.js';

export const describeGlobalRoute: DataRoute = {
  route: 'describeGlobal',
  method: 'GET',
  path: /^\/sobjects$/,
  open: () => ({
    object: null,
    answer: ({ org }) => ({
      status: 200,
      body: {
        encoding: 'UTF-8',
        maxBatchSize: 200,
        sobjects: org.sobjects().map((store) => ({ ...objectSummary(store), urls: urls(store) })),
      },
    }),
  }),
};

export const describeRoute: DataRoute = {
  route: 'describe',
  method: 'GET',
  path: /^\/sobjects\/(\w+)\/describe$/,
  open: ({ params: [object] }) => ({
    object,
    answer: ({ org }) => {
      const store = org.sobject(object);
      if (!store) return { status: 404, body: errorBody('NOT_FOUND', NOT_FOUND_MESSAGE) };
      const fields = [...store.fields.values()].filter((f) => store.visible(f.name)).map(describeField);
      return {
        status: 200,
        body: { ...objectSummary(store), urls: urls(store), fields, childRelationships: [], recordTypeInfos: [] },
      };
    },
  }),
};

function objectSummary(store: SObjectStore) {
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

function urls(store: SObjectStore) {
  const base = `/services/data/v62.0/sobjects/${store.spec.name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

/** SOAP types of the field types the emulator declares; any other type is text. */
const SOAP_TYPES: Record<string, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  boolean: 'xsd:boolean',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};

/** Types whose values have no length: numbers, booleans, dates. */
const LENGTHLESS = new Set(['int', 'double', 'currency', 'percent', 'boolean', 'date', 'datetime']);

/** A describe field: strings carry `length` (bytes: 3 per character), numbers `precision`/`scale`/`digits`. */
function describeField(field: FieldSpec): object {
  const type = field.type ?? 'string';
  const readOnly = field.state === 'readOnly';
  const length = LENGTHLESS.has(type) ? 0 : (field.length ?? 255);
  const decimal = type === 'double' || type === 'currency' || type === 'percent';
  return {
    name: field.name,
    label: field.label ?? field.name,
    type,
    soapType: SOAP_TYPES[type] ?? 'xsd:string',
    length,
    byteLength: length * 3,
    precision: decimal ? (field.precision ?? 18) : 0,
    scale: decimal ? (field.scale ?? 0) : 0,
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
