/**
 * The contract between the router and a route module: a request under `/services/data/vNN.N` opens a
 * call; the emulator then applies faults, the session check and the API quota, and only then asks
 * the call for its answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SalesforceOrg } from '../org/org.js';

/** Names faults are injected by; `any` matches every route, unknown paths included. */
export type Route =
  | 'token'
  | 'describeGlobal'
  | 'describe'
  | 'limits'
  | 'query'
  | 'queryAll'
  | 'queryMore'
  | 'getUpdated'
  | 'getDeleted'
  | 'create'
  | 'update'
  | 'upsert'
  | 'delete'
  | 'bulkCreate'
  | 'bulkUpload'
  | 'bulkState'
  | 'bulkInfo'
  | 'bulkResults'
  | 'bulkDelete'
  | 'bulkQueryCreate'
  | 'bulkQueryInfo'
  | 'bulkQueryResults'
  | 'bulkQueryState'
  | 'bulkQueryDelete'
  | 'any';

export interface DataRequest {
  /** The API version from the path, e.g. `62.0`. */
  version: string;
  /** The path's captures, e.g. the object and key field of an upsert. */
  params: string[];
  query: URLSearchParams;
  /** Request headers, lower-case names (e.g. `sforce-query-options`). */
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  /** JSON, unless `contentType` says the body is text of that type (Bulk API 2.0 results are CSV). */
  body: unknown;
  contentType?: string;
  /** Records a read call returned (a query page, a result CSV page), for the read log. */
  records?: number;
  /** Extra response headers (e.g. `Sforce-Locator` on Bulk query results). */
  headers?: Record<string, string>;
}

/** What a route may read when it answers: the org, and the API usage `/limits` reports. */
export interface DataContext {
  org: SalesforceOrg;
  apiUsed: number;
  apiLimit: number;
}

export interface DataCall {
  /** The sObject named in the path, if any (kept in the write log). */
  object: string | null;
  /** Records (or ids) a write call carries; absent for reads. Write calls are counted, logged and delayed. */
  writeRecords?: number;
  /** May throw RequestError, answered as `[{message, errorCode}]`. */
  answer(context: DataContext): Reply;
}

export interface DataRoute {
  route: Exclude<Route, 'token' | 'any'>;
  method: string;
  /** Matched against the path after `/services/data/vNN.N`. */
  path: RegExp;
  open(request: DataRequest): DataCall;
}
