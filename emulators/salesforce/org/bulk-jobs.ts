/**
 * Bulk API 2.0 ingest jobs: the job records, their CSV data, and their processing through the same
 * per-record rules as sObject Collections (org.ts). A job moves Open → UploadComplete (closed by the
 * client) → InProgress → JobComplete, or Failed, or Aborted.
 *
 * **emulator** Salesforce processes a closed job on its own clock; here a job advances one state per
 * `GET` of its info (UploadComplete → InProgress, then InProgress → processed and JobComplete), so a
 * run is identical every time and nothing waits in real time. `hold()` keeps jobs InProgress, for
 * tests that kill a client mid-job.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { RequestError } from '../errors.js';
import type { SalesforceOrg } from './org.js';
import { saveError, type SaveResult } from './save-result.js';
import { unreadableValue } from './value-types.js';
import type { SfRecord } from './sobject-store.js';

export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
export type IngestOperation = 'insert' | 'update' | 'upsert' | 'delete';

export interface BulkJob {
  id: string;
  object: string;
  operation: IngestOperation;
  externalIdFieldName?: string;
  state: JobState;
  createdDate: string;
  apiVersion: number;
  /** The uploaded CSV, header first, as parsed; null until uploaded. */
  rows: string[][] | null;
  successful: string[][];
  failed: string[][];
  unprocessed: string[][];
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  errorMessage?: string;
}

/** Bulk API 2.0 job ids have the key prefix 750. */
const JOB_PREFIX = '750';
/** Salesforce accepts at most 150 MB of CSV per upload (before its base64 step, 100 MB is advised). */
export const MAX_UPLOAD_BYTES = 150 * 1024 * 1024;
/** The CSV value that sets a field to null; an empty value leaves the field as it is. */
export const NULL_VALUE = '#N/A';

const OPERATIONS: IngestOperation[] = ['insert', 'update', 'upsert', 'delete'];

export class BulkJobs {
  readonly jobs = new Map<string, BulkJob>();
  private sequence = 0;
  private held = false;

  constructor(private readonly org: SalesforceOrg) {}

  /** While held, jobs stay InProgress however often they are polled. */
  hold(held = true): void {
    this.held = held;
  }

  create(body: unknown, version: string): BulkJob {
    const spec = (body ?? {}) as Record<string, unknown>;
    const operation = spec.operation as IngestOperation;
    if (!OPERATIONS.includes(operation)) {
      throw new RequestError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(spec.operation)}`);
    }
    const store = this.org.requestedType(spec.object);
    if (operation === 'upsert') {
      const key = typeof spec.externalIdFieldName === 'string' ? store.visible(spec.externalIdFieldName) : undefined;
      if (!key || !(key.externalId || key.idLookup)) {
        throw new RequestError(400, 'INVALIDJOB', `InvalidJob : Field name provided, ${String(spec.externalIdFieldName)} is not an External ID or indexed field for ${store.spec.name}`);
      }
    }
    const id = `${JOB_PREFIX}5g0${String(++this.sequence).padStart(9, '0')}AAA`;
    const job: BulkJob = {
      id,
      object: store.spec.name,
      operation,
      externalIdFieldName: operation === 'upsert' ? String(spec.externalIdFieldName) : undefined,
      state: 'Open',
      createdDate: new Date().toISOString().replace('Z', '+0000'),
      apiVersion: Number(version),
      rows: null,
      successful: [],
      failed: [],
      unprocessed: [],
      numberRecordsProcessed: 0,
      numberRecordsFailed: 0,
    };
    this.jobs.set(id, job);
    return job;
  }

  job(id: string): BulkJob {
    const job = this.jobs.get(id);
    if (!job) throw new RequestError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  }

  upload(id: string, csv: string): void {
    const job = this.job(id);
    if (job.state !== 'Open' || job.rows !== null) {
      throw new RequestError(409, 'INVALIDJOBSTATE', `Job ${id} is not open for uploads: its state is ${job.state}`);
    }
    if (Buffer.byteLength(csv) > MAX_UPLOAD_BYTES) {
      throw new RequestError(400, 'INVALIDBATCH', 'InvalidBatch : Upload data exceeds 150 MB');
    }
    try {
      job.rows = parse(csv, { relax_column_count: false, skip_empty_lines: true }) as string[][];
    } catch (error) {
      throw new RequestError(400, 'INVALIDBATCH', `InvalidBatch : ${(error as Error).message}`);
    }
  }

  /** PATCH `{state}`: UploadComplete closes an Open job; Aborted stops one that has not finished. */
  setState(id: string, state: unknown): BulkJob {
    const job = this.job(id);
    if (state === 'UploadComplete' && job.state === 'Open') {
      job.state = 'UploadComplete';
      // A job closed with no data fails: there is nothing to process.
      if (!job.rows) this.fail(job, 'InvalidBatch : No data uploaded');
      return job;
    }
    if (state === 'Aborted' && (job.state === 'Open' || job.state === 'UploadComplete' || job.state === 'InProgress')) {
      job.state = 'Aborted';
      job.unprocessed = job.rows?.slice(1) ?? [];
      return job;
    }
    throw new RequestError(400, 'INVALIDJOBSTATE', `Cannot change the state of job ${id} from ${job.state} to ${String(state)}`);
  }

  /** GET job info: the poll that moves a closed job on (see the file comment). */
  poll(id: string): BulkJob {
    const job = this.job(id);
    if (job.state === 'UploadComplete') job.state = 'InProgress';
    else if (job.state === 'InProgress' && !this.held) this.process(job);
    return job;
  }

  delete(id: string): void {
    const job = this.job(id);
    if (job.state === 'Open' || job.state === 'UploadComplete' || job.state === 'InProgress') {
      throw new RequestError(400, 'INVALIDJOBSTATE', `Job ${id} must be finished or aborted before it is deleted`);
    }
    this.jobs.delete(id);
  }

  /** successfulResults, failedResults, unprocessedrecords: CSV with every value quoted. */
  results(id: string, kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): string {
    const job = this.job(id);
    if (job.state === 'Open' || job.state === 'UploadComplete' || job.state === 'InProgress') {
      if (kind !== 'unprocessedrecords') throw new RequestError(400, 'INVALIDJOBSTATE', `Job ${id} has not finished`);
    }
    const header = job.rows?.[0] ?? [];
    const table =
      kind === 'successfulResults'
        ? [['sf__Id', 'sf__Created', ...header], ...job.successful]
        : kind === 'failedResults'
          ? [['sf__Id', 'sf__Error', ...header], ...job.failed]
          : [header, ...job.unprocessed];
    return stringify(table, { quoted: true, quoted_empty: true, record_delimiter: 'unix' });
  }

  private fail(job: BulkJob, message: string): void {
    job.state = 'Failed';
    job.errorMessage = message;
    job.unprocessed = job.rows?.slice(1) ?? [];
  }

  /** Writes every record through the org's per-record rules, as sObject Collections with allOrNone false. */
  private process(job: BulkJob): void {
    const [header, ...records] = job.rows ?? [[]];
    const store = this.org.requestedType(job.object);
    const unknown = header.find((name) => !store.visible(name));
    if (unknown !== undefined) return this.fail(job, `InvalidBatch : Field name not found : ${unknown}`);
    for (const cells of records) {
      const values = typedValues(store.spec.name, this.org, header, cells);
      // A CSV value its field cannot read fails its record alone (a REST body would fail as a whole).
      const bad = unreadableValue(store, values);
      const result = bad
        ? { success: false, errors: [saveError('INVALID_TYPE_ON_FIELD_IN_RECORD', `${bad.name}: value not of required type: ${String(bad.value)}`, [bad.name])] }
        : this.write(job, values);
      if (result.success) {
        job.successful.push([result.id ?? '', String(result.created ?? job.operation === 'insert'), ...cells]);
      } else {
        const error = result.errors[0];
        const fields = error.fields.length ? `${error.fields.join(',')} --` : '--';
        job.failed.push([result.id ?? '', `${error.statusCode}:${error.message}:${fields}`, ...cells]);
        job.numberRecordsFailed++;
      }
      job.numberRecordsProcessed++;
    }
    job.state = 'JobComplete';
  }

  private write(job: BulkJob, values: SfRecord): SaveResult {
    const { org } = this;
    switch (job.operation) {
      case 'insert':
        return org.create([{ ...values, attributes: { type: job.object } }], false)[0];
      case 'update': {
        const { Id, ...rest } = values;
        return org.update([{ ...rest, id: Id, attributes: { type: job.object } }], false)[0];
      }
      case 'upsert':
        return org.upsert(job.object, job.externalIdFieldName!, [values], false)[0];
      case 'delete':
        return org.destroy([String(values.Id ?? '')], false)[0];
    }
  }
}

/**
 * A CSV row as the values a REST body would carry: `#N/A` is null, an empty value is left out (the
 * field keeps its value), booleans and numbers take their field's type where the text is one.
 */
function typedValues(object: string, org: SalesforceOrg, header: string[], cells: string[]): SfRecord {
  const store = org.sobject(object)!;
  const values: SfRecord = {};
  header.forEach((name, index) => {
    const text = cells[index] ?? '';
    if (text === '') return;
    if (text === NULL_VALUE) {
      values[name] = null;
      return;
    }
    const type = store.fields.get(name)?.type ?? 'string';
    if (type === 'boolean' && (text === 'true' || text === 'false')) values[name] = text === 'true';
    else if (type === 'int' && /^-?\d+$/.test(text)) values[name] = Number(text);
    else if ((type === 'double' || type === 'currency' || type === 'percent') && String(Number(text)) === text) values[name] = Number(text);
    else values[name] = text;
  });
  return values;
}
