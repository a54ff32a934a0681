/**
 * Bulk API 2.0 query jobs: `POST /jobs/query` (`{operation: query|queryAll, query}`), `GET
 * /jobs/query/{id}` (job info; each poll moves the job on), `GET /jobs/query/{id}/results
 * [?locator=&maxRecords=]` (a CSV page, `Sforce-Locator` naming the next or `null`,
 * `Sforce-NumberOfRecords`), `PATCH /jobs/query/{id}` (`{state: Aborted}`) and `DELETE` (204). Each is one
 * API call. The jobs live in `org/bulk-query-jobs.ts`.
 */
import { errorBody, NOT_FOUND_MESSAGE } from '../errors.js';
import type { BulkQueryJob } from '../org/bulk-query-jobs.js';
import type { DataCall, DataContext, DataRequest, DataRoute, Reply } from './route.js';

/** Query jobs exist from v47.0. */
const FIRST_VERSION = 47;

function jobInfo(job: BulkQueryJob) {
  const done = job.state === 'JobComplete';
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: '0055g0000000001AAA',
    createdDate: job.createdDate,
    systemModstamp: job.createdDate,
    state: job.state,
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

function call(request: DataRequest, answer: (context: DataContext, id: string) => Reply): DataCall {
  return {
    object: null,
    answer(context) {
      if (Number(request.version) < FIRST_VERSION) return { status: 404, body: errorBody('NOT_FOUND', NOT_FOUND_MESSAGE) };
      return answer(context, request.params[0]);
    },
  };
}

function parsedBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const JOB = /^\/jobs\/query\/(\w+)\/?$/;

export const bulkQueryRoutes: DataRoute[] = [
  {
    route: 'bulkQueryCreate',
    method: 'POST',
    path: /^\/jobs\/query\/?$/,
    open: (request) =>
      call(request, ({ org }) => {
        const body = parsedBody(request.body);
        if (body === undefined) return { status: 400, body: errorBody('JSON_PARSER_ERROR', 'The request body is not valid JSON') };
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
