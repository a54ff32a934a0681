/**
 * Bulk API 2.0 ingest: `POST /jobs/ingest` (create), `PUT /jobs/ingest/{id}/batches` (CSV upload, 201
 * with no body), `PATCH /jobs/ingest/{id}` (`{state: UploadComplete | Aborted}`), `GET
 * /jobs/ingest/{id}` (job info), `GET /jobs/ingest/{id}/successfulResults | failedResults |
 * unprocessedrecords` (CSV) and `DELETE /jobs/ingest/{id}` (204). Each is one API call against the
 * daily quota, like every REST call. The jobs themselves live in `org/bulk-jobs.ts`.
 */
import type { BulkJob } from '../org/bulk-jobs.js';
import { bulkCall, jobHeader, jsonParserError, parsedBody } from './bulk-call.js';
import type { DataContext, DataRequest, DataRoute, Reply } from './route.js';

/** Bulk API 2.0 exists from v41.0. */
const FIRST_VERSION = 41;

function jobInfo(job: BulkJob, version: string) {
  const finished = job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted';
  return {
    ...jobHeader(job),
    ...(job.externalIdFieldName && { externalIdFieldName: job.externalIdFieldName }),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    contentUrl: `services/data/v${version}/jobs/ingest/${job.id}/batches`,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...(finished && {
      numberRecordsProcessed: job.numberRecordsProcessed,
      numberRecordsFailed: job.numberRecordsFailed,
      retries: 0,
      totalProcessingTime: 0,
      apiActiveProcessingTime: 0,
      apexProcessingTime: 0,
    }),
    ...(job.errorMessage && { errorMessage: job.errorMessage }),
  };
}

const call = (request: DataRequest, answer: (context: DataContext, id: string) => Reply) => bulkCall(request, FIRST_VERSION, answer);

const JOBS = /^\/jobs\/ingest\/?$/;
const JOB = /^\/jobs\/ingest\/(\w+)\/?$/;

export const bulkIngestRoutes: DataRoute[] = [
  {
    route: 'bulkCreate',
    method: 'POST',
    path: JOBS,
    open: (request) =>
      call(request, ({ org }) => {
        const body = parsedBody(request.body);
        if (body === undefined) return jsonParserError;
        return { status: 200, body: jobInfo(org.bulk.create(body, request.version), request.version) };
      }),
  },
  {
    route: 'bulkUpload',
    method: 'PUT',
    path: /^\/jobs\/ingest\/(\w+)\/batches\/?$/,
    open: (request) => ({
      ...call(request, ({ org }, id) => {
        org.bulk.upload(id, request.body);
        return { status: 201, body: undefined };
      }),
      writeRecords: Math.max(0, request.body.split('\n').filter((line) => line !== '').length - 1),
    }),
  },
  {
    route: 'bulkState',
    method: 'PATCH',
    path: JOB,
    open: (request) =>
      call(request, ({ org }, id) => {
        const body = parsedBody(request.body) as { state?: unknown } | undefined;
        return { status: 200, body: jobInfo(org.bulk.setState(id, body?.state), request.version) };
      }),
  },
  {
    route: 'bulkInfo',
    method: 'GET',
    path: JOB,
    open: (request) => call(request, ({ org }, id) => ({ status: 200, body: jobInfo(org.bulk.poll(id), request.version) })),
  },
  {
    route: 'bulkResults',
    method: 'GET',
    path: /^\/jobs\/ingest\/(\w+)\/(successfulResults|failedResults|unprocessedrecords)\/?$/,
    open: (request) =>
      call(request, ({ org }, id) => {
        const kind = request.params[1] as 'successfulResults' | 'failedResults' | 'unprocessedrecords';
        return { status: 200, body: org.bulk.results(id, kind), contentType: 'text/csv' };
      }),
  },
  {
    route: 'bulkDelete',
    method: 'DELETE',
    path: JOB,
    open: (request) =>
      call(request, ({ org }, id) => {
        org.bulk.delete(id);
        return { status: 204, body: undefined };
      }),
  },
];
