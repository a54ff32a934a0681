/**
 * sObject Collections writes: `POST /composite/sobjects` (create), `PATCH /composite/sobjects`
 * (update by Id), `PATCH /composite/sobjects/{T}/{keyField}` (upsert), `DELETE
 * /composite/sobjects?ids=…`. At most 200 records or ids a call; HTTP 200 with one result per record,
 * failures included. The body is read when the call opens, so a faulted or refused call is still
 * counted with its records.
 */
import { NOT_FOUND_MESSAGE, errorBody } from '../errors.js';
import type { SfRecord } from '../org/sobject-store.js';
import type { DataCall, DataContext, DataRequest, DataRoute, Reply } from './route.js';

/** sObject Collections take at most 200 records (or ids) per call. */
export const MAX_RECORDS_PER_CALL = 200;

/** sObject Collections exist from v42.0; upsert through them from v46.0. */
const FIRST_VERSION = { create: 42, update: 42, delete: 42, upsert: 46 };

type WriteRoute = keyof typeof FIRST_VERSION;

function openWrite(route: WriteRoute, { version, params, query, body }: DataRequest): DataCall {
  let records: SfRecord[] = [];
  let ids: string[] = [];
  let parsed: unknown;
  if (route === 'delete') {
    ids = (query.get('ids') ?? '').split(',').filter((id) => id !== '');
  } else {
    try {
      parsed = JSON.parse(body);
      records = Array.isArray((parsed as { records?: unknown }).records) ? (parsed as { records: SfRecord[] }).records : [];
    } catch {
      parsed = undefined;
    }
  }
  const count = route === 'delete' ? ids.length : records.length;
  const [object, keyField] = params;

  const answer = ({ org }: DataContext): Reply => {
    if (route !== 'delete' && parsed === undefined) {
      return { status: 400, body: errorBody('JSON_PARSER_ERROR', 'The request body is not valid JSON') };
    }
    if (count > MAX_RECORDS_PER_CALL) {
      return {
        status: 400,
        body: errorBody('EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call'),
      };
    }
    if (Number(version) < FIRST_VERSION[route]) return { status: 404, body: errorBody('NOT_FOUND', NOT_FOUND_MESSAGE) };
    const allOrNone = route === 'delete' ? query.get('allOrNone') === 'true' : (parsed as { allOrNone?: unknown })?.allOrNone === true;
    switch (route) {
      case 'create':
        return { status: 200, body: org.create(records, allOrNone) };
      case 'update':
        return { status: 200, body: org.update(records, allOrNone) };
      case 'upsert':
        return { status: 200, body: org.upsert(object, keyField, records, allOrNone) };
      case 'delete':
        return { status: 200, body: org.destroy(ids, allOrNone) };
    }
  };
  return { object: object ?? null, writeRecords: count, answer };
}

const COLLECTION = /^\/composite\/sobjects$/;

export const collectionRoutes: DataRoute[] = [
  { route: 'create', method: 'POST', path: COLLECTION, open: (request) => openWrite('create', request) },
  { route: 'update', method: 'PATCH', path: COLLECTION, open: (request) => openWrite('update', request) },
  { route: 'delete', method: 'DELETE', path: COLLECTION, open: (request) => openWrite('delete', request) },
  { route: 'upsert', method: 'PATCH', path: /^\/composite\/sobjects\/(\w+)\/(\w+)$/, open: (request) => openWrite('upsert', request) },
];
