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

/** A describe field: strings carry `length` (bytes: 3 per character), numbers `precision`/`digits`. */
function describeField(field: FieldSpec): object {
  const type = field.type ?? 'string';
  const readOnly = field.state === 'readOnly';
  const numeric = type === 'double' || type === 'currency' || type === 'percent';
  const length = type === 'int' || numeric || type === 'boolean' || type === 'date' || type === 'datetime' ? 0 : (field.length ?? 255);
  return {
    name: field.name,
    label: field.label ?? field.name,
    type,
    soapType: type === 'id' ? 'tns:ID' : type === 'int' ? 'xsd:int' : numeric ? 'xsd:double' : 'xsd:string',
    length,
    byteLength: length * 3,
    precision: numeric ? (field.precision ?? 18) : 0,
    scale: numeric ? (field.scale ?? 0) : 0,
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
