/**
 * Bulk API 2.0 query jobs: a SOQL query run as a job whose rows are read as CSV pages. A job is
 * created UploadComplete, moves InProgress → JobComplete (rows fixed then), or Failed (a field lost
 * between creation and processing), or Aborted.
 *
 * **emulator** As with ingest jobs, a job advances one state per `GET` of its info, so nothing waits on
 * a timer; `hold()` keeps jobs InProgress, for tests that kill a client mid-job.
 */
import { RequestError } from '../errors.js';
import { bindQuery, kindOf, type BoundQuery } from '../soql/bind.js';
import { parseSoql, type SelectQuery } from '../soql/parser.js';
import { runQuery } from '../soql/run.js';
import { SoqlError } from '../soql/soql-error.js';
import { parseDateTime } from './org-clock.js';
import type { SalesforceOrg } from './org.js';
import { recordId } from './record-ids.js';
import type { SfRecord } from './sobject-store.js';

export type QueryJobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
export type QueryOperation = 'query' | 'queryAll';

/** The delimiters a job may name, as Bulk API 2.0 spells them. */
const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', PIPE: '|', SEMICOLON: ';', CARET: '^', BACKQUOTE: '`' };
const LINE_ENDINGS: Record<string, string> = { LF: '\n', CRLF: '\r\n' };

export interface BulkQueryJob {
  id: string;
  object: string;
  operation: QueryOperation;
  query: SelectQuery;
  state: QueryJobState;
  createdDate: string;
  apiVersion: number;
  columnDelimiter: string;
  lineEnding: string;
  /** The projected rows, fixed when the job completes. */
  rows: SfRecord[] | null;
  fieldNames: string[];
  errorMessage?: string;
}

/** A result locator is the next row's offset, base64 like Salesforce's (`MTAwMDA` is 10000). */
const encodeLocator = (offset: number) => Buffer.from(String(offset)).toString('base64').replace(/=+$/, '');
function decodeLocator(locator: string): number {
  const text = Buffer.from(locator, 'base64').toString('utf8');
  return /^\d+$/.test(text) && encodeLocator(Number(text)) === locator ? Number(text) : Number.NaN;
}

export interface ResultPage {
  csv: string;
  records: number;
  /** `null` (the text) on the last page. */
  locator: string;
}

export class BulkQueryJobs {
  readonly jobs = new Map<string, BulkQueryJob>();
  private sequence = 0;
  private held = false;
  /** Rows per result page when the client sends no `maxRecords`. Salesforce chooses its own; default here 50,000. */
  defaultPageSize = 50_000;

  constructor(private readonly org: SalesforceOrg) {}

  /** While held, jobs stay InProgress however often they are polled. */
  hold(held = true): void {
    this.held = held;
  }

  create(body: unknown, version: string): BulkQueryJob {
    const spec = (body ?? {}) as Record<string, unknown>;
    const operation = spec.operation;
    if (operation !== 'query' && operation !== 'queryAll') {
      throw new RequestError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(operation)}`);
    }
    if (typeof spec.query !== 'string') throw new RequestError(400, 'INVALIDJOB', 'InvalidJob : query is required');
    const columnDelimiter = typeof spec.columnDelimiter === 'string' ? spec.columnDelimiter : 'COMMA';
    const lineEnding = typeof spec.lineEnding === 'string' ? spec.lineEnding : 'LF';
    if (!(columnDelimiter in DELIMITERS)) throw new RequestError(400, 'INVALIDJOB', `InvalidJob : Invalid columnDelimiter: ${columnDelimiter}`);
    if (!(lineEnding in LINE_ENDINGS)) throw new RequestError(400, 'INVALIDJOB', `InvalidJob : Invalid lineEnding: ${lineEnding}`);
    const query = parseSoql(spec.query);
    if (query.fields === 'count' || query.offset !== undefined) {
      throw new RequestError(400, 'INVALIDJOB', 'InvalidJob : Bulk API 2.0 query does not support COUNT() or OFFSET');
    }
    const bound = this.bind(query);
    const id = recordId('750', 500_000 + ++this.sequence);
    const job: BulkQueryJob = {
      id,
      object: bound.store.spec.name,
      operation,
      query,
      state: 'UploadComplete',
      createdDate: this.org.clock.stamp(),
      apiVersion: Number(version),
      columnDelimiter,
      lineEnding,
      rows: null,
      fieldNames: bound.fields.map((f) => f.name),
    };
    this.jobs.set(id, job);
    return job;
  }

  job(id: string): BulkQueryJob {
    const job = this.jobs.get(id);
    if (!job) throw new RequestError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  }

  /** GET job info: the poll that moves a job on (see the file comment). */
  poll(id: string): BulkQueryJob {
    const job = this.job(id);
    if (job.state === 'UploadComplete') job.state = 'InProgress';
    else if (job.state === 'InProgress' && !this.held) this.process(job);
    return job;
  }

  abort(id: string, state: unknown): BulkQueryJob {
    const job = this.job(id);
    if (state !== 'Aborted' || (job.state !== 'UploadComplete' && job.state !== 'InProgress')) {
      throw new RequestError(400, 'INVALIDJOBSTATE', `Cannot change the state of job ${id} from ${job.state} to ${String(state)}`);
    }
    job.state = 'Aborted';
    return job;
  }

  delete(id: string): void {
    const job = this.job(id);
    if (job.state === 'InProgress') throw new RequestError(400, 'INVALIDJOBSTATE', `Job ${id} is in progress: abort it before deleting it`);
    this.jobs.delete(id);
  }

  /** One page of results from `locator` (the start when absent), at most `maxRecords` rows. */
  results(id: string, locator: string | null, maxRecords: string | null): ResultPage {
    const job = this.job(id);
    if (job.state !== 'JobComplete' || !job.rows) {
      throw new RequestError(400, 'INVALIDJOBSTATE', `Job ${id} is ${job.state}: results are available once it is JobComplete`);
    }
    const offset = locator === null || locator === '' ? 0 : decodeLocator(locator);
    if (Number.isNaN(offset) || offset > job.rows.length) throw new RequestError(400, 'INVALID_QUERY_LOCATOR', `invalid locator: ${locator}`);
    const size = maxRecords === null ? this.defaultPageSize : Number(maxRecords);
    if (!Number.isInteger(size) || size < 1) throw new RequestError(400, 'INVALIDJOB', `maxRecords must be a positive integer: ${maxRecords}`);
    const slice = job.rows.slice(offset, offset + size);
    const store = this.org.sobject(job.object)!;
    const fields = job.fieldNames.map((name) => store.fields.get(name)!);
    const kinds = fields.map(kindOf);
    const delimiter = DELIMITERS[job.columnDelimiter];
    const lineEnding = LINE_ENDINGS[job.lineEnding];
    const lines = [job.fieldNames.map(quoted).join(delimiter)];
    for (const row of slice) lines.push(fields.map((field, i) => quoted(csvValue(kinds[i], row[field.name]))).join(delimiter));
    const csv = lines.join(lineEnding) + lineEnding;
    const next = offset + size;
    return { csv, records: slice.length, locator: next >= job.rows.length ? 'null' : encodeLocator(next) };
  }

  private bind(query: SelectQuery): BoundQuery {
    return bindQuery(query, (name) => this.org.sobjectIgnoringCase(name));
  }

  /** Runs the query now; a field deleted or hidden since the job was created fails it, as Salesforce would. */
  private process(job: BulkQueryJob): void {
    try {
      job.rows = runQuery(this.bind(job.query), job.operation === 'queryAll').rows;
      job.state = 'JobComplete';
    } catch (error) {
      if (!(error instanceof SoqlError)) throw error;
      job.state = 'Failed';
      job.errorMessage = `${error.errorCode}: ${error.message}`;
    }
  }
}

/**
 * Every value double-quoted, quotes doubled, so no delimiter, quote or line break inside one can split
 * it; null is empty and unquoted. (Written here rather than with csv-stringify: a 50,000-row page is
 * formatted several times faster.)
 */
function quoted(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}

/** Bulk CSV writes date-times in UTC with `Z`, booleans as true/false, and null as an empty value. */
function csvValue(kind: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (kind === 'datetime') return new Date(parseDateTime(String(value))).toISOString();
  return String(value);
}
