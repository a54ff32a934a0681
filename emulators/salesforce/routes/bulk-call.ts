/**
 * What every Bulk API 2.0 route shares: the job id from the path, a 404 below the version the API
 * appeared in (41.0 for ingest, 47.0 for query), and a JSON body that may not parse.
 */
import { errorBody, NOT_FOUND_MESSAGE } from '../errors.js';
import type { DataCall, DataContext, DataRequest, Reply } from './route.js';

export function bulkCall(request: DataRequest, firstVersion: number, answer: (context: DataContext, id: string) => Reply): DataCall {
  return {
    object: null,
    answer(context) {
      if (Number(request.version) < firstVersion) return { status: 404, body: errorBody('NOT_FOUND', NOT_FOUND_MESSAGE) };
      return answer(context, request.params[0]);
    },
  };
}

/** The body as JSON, or undefined when it is not JSON (answered 400 JSON_PARSER_ERROR). */
export function parsedBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export const jsonParserError: Reply = { status: 400, body: errorBody('JSON_PARSER_ERROR', 'The request body is not valid JSON') };

/** The fields every job info starts with, ingest or query. */
export function jobHeader(job: { id: string; operation: string; object: string; createdDate: string; state: string }) {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: '0055g0000000001AAA',
    createdDate: job.createdDate,
    systemModstamp: job.createdDate,
    state: job.state,
  };
}
