/**
 * `GET /query?q=…`: the SOQL subset the connector sends, `SELECT f, … FROM T WHERE k IN (v, …)` or
 * `k = v`, on Id or an indexed field, answered in one page (`done: true`, no `nextRecordsUrl`).
 */
import { RequestError } from '../errors.js';
import type { SfRecord } from '../org/sobject-store.js';
import type { DataRoute } from './route.js';

const SUPPORTED = /^SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+(IN|=)\s+(.+?)\s*$/is;

export const queryRoute: DataRoute = {
  route: 'query',
  method: 'GET',
  path: /^\/query$/,
  open: ({ query, version }) => ({
    object: null,
    answer: ({ org }) => {
      const soql = query.get('q') ?? '';
      const match = SUPPORTED.exec(soql);
      if (!match) {
        throw new RequestError(400, 'MALFORMED_QUERY', `the emulator answers only SELECT … FROM T WHERE field IN (…): ${soql}`);
      }
      const [, fieldList, object, keyField, , valueText] = match;
      const store = org.requestedType(object);
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
        const row: SfRecord = { attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${String(record.Id)}` } };
        for (const name of fields) row[name] = record[name] ?? null;
        records.push(row);
      }
      return { status: 200, body: { totalSize: records.length, done: true, records } };
    },
  }),
};

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
