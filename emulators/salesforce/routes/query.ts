/**
 * SOQL over REST: `GET /query?q=` (live records), `GET /queryAll?q=` (deleted ones too, IsDeleted
 * true), and `GET /query/<locator>-<offset>` or `/queryAll/<locator>-<offset>` for the next page
 * (queryMore). A page holds up to 2,000 records, or `Sforce-Query-Options: batchSize=N` (200..2,000);
 * a result larger than a page opens a cursor whose rows are fixed at query time.
 */
import type { SfRecord } from '../org/sobject-store.js';
import { invalidQueryLocator } from '../org/query-cursors.js';
import { bindQuery } from '../soql/bind.js';
import { parseSoql } from '../soql/parser.js';
import { runQuery } from '../soql/run.js';
import type { DataContext, DataRequest, DataRoute, Reply } from './route.js';

/** Salesforce's default and largest page; the smallest batchSize it honours is 200. */
export const MAX_BATCH_SIZE = 2000;
const MIN_BATCH_SIZE = 200;

/** `Sforce-Query-Options: batchSize=500` → 500, clamped to 200..2000 (a request, not a guarantee, in Salesforce too). */
function batchSizeOf(request: DataRequest): number | undefined {
  const header = request.headers['sforce-query-options'];
  const match = /batchSize\s*=\s*(\d+)/i.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
  if (!match) return undefined;
  return Math.min(MAX_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Number(match[1])));
}

/** One page of `rows` from `offset`, with `nextRecordsUrl` under `/query/` (for queryAll too, as Salesforce does). */
function page(version: string, object: string, rows: SfRecord[], offset: number, size: number, locator: () => string): Reply {
  const slice = rows.slice(offset, offset + size);
  const done = offset + size >= rows.length;
  const records = slice.map((row) => ({
    attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${String(row.Id ?? '')}` },
    ...row,
  }));
  const body: Record<string, unknown> = { totalSize: rows.length, done };
  if (!done) body.nextRecordsUrl = `/services/data/v${version}/query/${locator()}-${offset + size}`;
  body.records = records;
  return { status: 200, body, records: records.length };
}

function openQuery(request: DataRequest, includeDeleted: boolean) {
  return {
    object: null,
    answer: ({ org }: DataContext): Reply => {
      const bound = bindQuery(parseSoql(request.query.get('q') ?? ''), (name) => org.sobjectIgnoringCase(name));
      const result = runQuery(bound, includeDeleted);
      const object = bound.store.spec.name;
      if (bound.count) return { status: 200, body: { totalSize: result.totalSize, done: true, records: [] }, records: 0 };
      const size = batchSizeOf(request) ?? MAX_BATCH_SIZE;
      return page(request.version, object, result.rows, 0, size, () => org.cursors.openCursor(object, result.rows, size));
    },
  };
}

export const queryRoutes: DataRoute[] = [
  { route: 'query', method: 'GET', path: /^\/query\/?$/, open: (request) => openQuery(request, false) },
  { route: 'queryAll', method: 'GET', path: /^\/queryAll\/?$/, open: (request) => openQuery(request, true) },
  {
    route: 'queryMore',
    method: 'GET',
    path: /^\/(?:query|queryAll)\/([^/]+)$/,
    open: (request) => ({
      object: null,
      answer: ({ org }) => {
        const match = /^(\w+)-(\d+)$/.exec(request.params[0]);
        if (!match) throw invalidQueryLocator();
        const cursor = org.cursors.take(match[1]);
        const offset = Number(match[2]);
        if (offset > cursor.rows.length) throw invalidQueryLocator();
        const size = batchSizeOf(request) ?? cursor.batchSize;
        const reply = page(request.version, cursor.object, cursor.rows, offset, size, () => cursor.locator);
        if ((reply.body as { done: boolean }).done) org.cursors.close(cursor.locator);
        return reply;
      },
    }),
  },
];
