/**
 * Bulk API 2.0 query jobs: `POST /jobs/query` (`{operation: query|queryAll, query}`), `GET
 * /jobs/query/{id}` (job info; each poll moves the job on), `GET /jobs/query/{id}/results
 * [?locator=&maxRecords=]` (a CSV page, `Sforce-Locator` naming the next or `null`,
 * `Sforce-NumberOfRecords`), `PATCH /jobs/query/{id}` (`{state: Aborted}`) and `DELETE` (204). Each is one
 * API call. The jobs live in `org/bulk-query-jobs.ts`.
 */
import type { BulkQueryJob } from '../org/bulk-query-jobs.js';
import { bulkCall, jobHeader, jsonParserError, parsedBody } from './bulk-call.js';
import type { DataContext, DataRequest, DataRoute, Reply } from './route.js';

/** Query jobs exist from v47.0. */
const FIRST_VERSION = 47;

function jobInfo(job: BulkQueryJob) {
  const done = job.state === 'JobComplete';
  return {
    ...jobHeader(job),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Query',
    lineEnding: job.lineEnding,
    columnDelimiter: job.columnDelimiter,
    numberRecordsProcessed: done ? (job.rows?.length ?? 0) : 0,
    retries: 0,
    totalProcessingTime: 0,
    isPkChunkingSupported: true,
    ...(job.errorMessage && { errorMessage: job.errorMessage }),
  };
}

const call = (request: DataRequest, answer: (context: DataContext, id: string) => Reply) => bulkCall(request, FIRST_VERSION, answer);

const JOB = /^\/jobs\/query\/(\w+)\/?$/;

export const bulkQueryRoutes: DataRoute[] = [
  {
    route: 'bulkQueryCreate',
    method: 'POST',
    path: /^\/jobs\/query\/?$/,
    open: (request) =>
      call(request, ({ org }) => {
        const body = parsedBody(request.body);
        if (body === undefined) return jsonParserError;
        return { status: 200, body: jobInfo(org.bulkQuery.create(body, request.version)) };
      }),
  },
  {
    route: 'bulkQueryInfo',
    method: 'GET',
    path: JOB,
    open: (request) => call(request, ({ org }, id) => ({ status: 200, body: jobInfo(org.bulkQuery.poll(id)) })),
  },
  {
    route: 'bulkQueryResults',
    method: 'GET',
    path: /^\/jobs\/query\/(\w+)\/results\/?$/,
    open: (request) =>
      call(request, ({ org }, id) => {
        const page = org.bulkQuery.results(id, request.query.get('locator'), request.query.get('maxRecords'));
        return {
          status: 200,
          body: page.csv,
          contentType: 'text/csv',
          records: page.records,
          headers: { 'sforce-locator': page.locator, 'sforce-numberofrecords': String(page.records) },
        };
      }),
  },
  {
    route: 'bulkQueryState',
    method: 'PATCH',
    path: JOB,
    open: (request) =>
      call(request, ({ org }, id) => {
        const body = parsedBody(request.body) as { state?: unknown } | undefined;
        return { status: 200, body: jobInfo(org.bulkQuery.abort(id, body?.state)) };
      }),
  },
  {
    route: 'bulkQueryDelete',
    method: 'DELETE',
    path: JOB,
    open: (request) =>
      call(request, ({ org }, id) => {
        org.bulkQuery.delete(id);
        return { status: 204, body: undefined };
      }),
  },
];
