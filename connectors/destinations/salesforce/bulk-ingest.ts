/**
 * Salesforce Bulk API 2.0 ingest through jsforce's `conn.bulk2`: one job per call of `runJob`, CSV
 * uploaded once, closed (UploadComplete), polled with backoff until it finishes, then its
 * successfulResults / failedResults mapped back to the rows. Results come back in no particular order
 * (Salesforce says so), so each is matched to its row on a column the rows hold uniquely: `Id` for
 * deletes and updates, else external_id (or, in insert mode without one, the field the primary key
 * is mapped to).
 *
 * Update mode writes by Salesforce Id: rows whose Id is not known yet are left out of the job, with no
 * result, and the core sends them through sObject Collections, which looks the Ids up.
 */
import type { Connection } from 'jsforce';
import type { Failure, JobOutcome, OutboundRow, RowOp, RowResult } from '../../destination.js';
import { csvCell, csvText } from './bulk-csv.js';
import { bulkRecordFailure, sfCatalogue } from '../../salesforce/errors.js';
import type { SalesforceTarget } from './settings.js';

type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
type ResultRecord = Record<string, string>;

/** Polls wait `pollMs`, then twice as long each time, up to 30 s: 1, 2, 4, 8, 16, 30, 30 … s by default. */
const MAX_POLL_DELAY_MS = 30_000;
/** A job not finished after 2 hours of polling is left running; the next run reads it. */
const MAX_WAIT_MS = 2 * 60 * 60 * 1000;
/** With a poll interval of 0 (tests against the emulator) the wait is bounded by polls instead. */
const MAX_POLLS = 10_000;

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The column results are matched on, for jobs of `op` under this target; null if the rows hold none. */
export function matchColumn(target: Pick<SalesforceTarget, 'mode' | 'externalId' | 'keyField'>, op: RowOp): string | null {
  if (op === 'delete' || target.mode === 'update') return 'Id';
  return target.externalId ?? target.keyField;
}

/**
 * A request sent on a kept-alive socket the server had just closed fails before the server reads it
 * (EPIPE, ECONNRESET "socket hang up"): it is made again, up to 3 times, each try counted as a call.
 * Reading 100,000 results parses for seconds on the worker's thread, long enough for a server's
 * keep-alive timeout (Node's default: 5 s) to close the socket the next request then reuses.
 */
async function again<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      const dropped = /EPIPE|ECONNRESET|socket hang up/.test(`${String(e.code ?? '')} ${String(e.message ?? '')}`);
      if (!dropped || attempt >= 3) throw error;
    }
  }
}

export class BulkIngest {
  constructor(
    private readonly conn: Connection,
    private readonly target: SalesforceTarget,
    private readonly secrets: () => string[],
    private readonly sleep: Sleep = realSleep,
  ) {}

  operation(op: RowOp): 'insert' | 'update' | 'upsert' | 'delete' {
    if (op === 'delete') return 'delete';
    return this.target.mode === 'insert' ? 'insert' : this.target.mode === 'update' ? 'update' : 'upsert';
  }

  async open(op: RowOp): Promise<string> {
    const operation = this.operation(op);
    const job = this.conn.bulk2.createJob({
      object: this.target.object,
      operation,
      lineEnding: 'LF',
      ...(operation === 'upsert' && { externalIdFieldName: this.target.externalId! }),
    });
    const info = await job.open();
    return String(info.id);
  }

  async run(jobId: string, op: RowOp, rows: OutboundRow[]): Promise<JobOutcome> {
    const results: RowResult[] = [];
    const { header, lines, byMatch } = this.table(op, rows, results);
    const job = this.conn.bulk2.job('ingest', { id: jobId });
    if (lines.length === 0) {
      await job.abort();
      return { results, apiCalls: 0, settled: true };
    }
    await this.upload(jobId, csvText(header, lines));
    await job.close();
    return this.finish(jobId, op, byMatch, results);
  }

  /**
   * The CSV goes in one PUT. A socket the server closed under it (a kept-alive connection dropped just
   * as the upload began) delivered nothing, so the upload is made again (`again`); jsforce's own
   * transport never re-sends a streamed body. If the data did arrive after all, the job refuses a second
   * upload, and the run stops with the job recorded: the next run aborts it.
   */
  private async upload(jobId: string, csv: string): Promise<void> {
    // A job object per attempt: jsforce refuses a second upload through the same one.
    await again(() => this.conn.bulk2.job('ingest', { id: jobId }).uploadData(csv));
  }

  async resume(jobId: string, op: RowOp, rows: OutboundRow[]): Promise<JobOutcome> {
    const job = this.conn.bulk2.job('ingest', { id: jobId });
    let state: JobState;
    try {
      state = (await again(() => job.check())).state;
    } catch (error) {
      // A job Salesforce no longer knows (deleted, or older than its 7-day retention): nothing to read.
      if ((error as { errorCode?: string }).errorCode === 'NOT_FOUND') return { results: [], apiCalls: 0, settled: true };
      throw error;
    }
    if (state === 'Open') {
      // Killed before the upload finished: Salesforce never started it, and aborted it never will.
      await job.abort();
      return { results: [], apiCalls: 0, settled: true };
    }
    const results: RowResult[] = [];
    const { byMatch } = this.table(op, rows, []);
    return this.finish(jobId, op, byMatch, results);
  }

  /** The CSV of the rows that can go in the job; the others get their result now. */
  private table(op: RowOp, rows: OutboundRow[], results: RowResult[]) {
    const column = matchColumn(this.target, op)!;
    const byId = op === 'delete' || this.operation(op) === 'update';
    const header = op === 'delete' ? ['Id'] : byId ? ['Id', ...this.target.fields.filter((f) => f !== 'Id')] : [...this.target.fields];
    const lines: string[][] = [];
    const byMatch = new Map<string, OutboundRow>();
    for (const row of rows) {
      if (byId && !row.destinationId) {
        // Updates without an Id go through Collections (no result here); deletes without one cannot be made.
        if (op === 'delete')
          results.push({ key: row.key, ok: false, failure: sfCatalogue.failure('SF_NO_ID', `row ${row.key} has no Salesforce Id`) });
        continue;
      }
      const cells = header.map((field) => (field === 'Id' ? row.destinationId! : csvCell(row.fields[field])));
      const bad = header.find((_, index) => cells[index] === null);
      if (bad !== undefined) {
        results.push({
          key: row.key,
          ok: false,
          failure: sfCatalogue.failure('SF_BULK_NA_TEXT', `row ${row.key}: ${bad} is the text #N/A`),
        });
        continue;
      }
      const match = cells[header.indexOf(column)]!;
      if (match === '#N/A') {
        const failure = sfCatalogue.failure('SF_NO_EXTERNAL_ID', `row ${row.key} has no value for ${column}`);
        results.push({ key: row.key, ok: false, failure });
        continue;
      }
      byMatch.set(match, row);
      lines.push(cells as string[]);
    }
    return { header, lines, byMatch };
  }

  /** Polls until the job finishes, then maps its results back. */
  private async finish(jobId: string, op: RowOp, byMatch: Map<string, OutboundRow>, results: RowResult[]): Promise<JobOutcome> {
    const job = this.conn.bulk2.job('ingest', { id: jobId });
    let delay = this.target.bulkPollMs;
    let waited = 0;
    for (let polls = 1; ; polls++) {
      const info = await again(() => job.check());
      if (info.state === 'JobComplete' || info.state === 'Aborted') break;
      if (info.state === 'Failed') {
        const failure = this.jobFailure(jobId, info.errorMessage ?? '');
        for (const row of byMatch.values()) results.push({ key: row.key, ok: false, failure });
        return { results, apiCalls: 0, settled: true };
      }
      if (waited >= MAX_WAIT_MS || polls >= MAX_POLLS) {
        const message = `Bulk API job ${jobId} has not finished after ${Math.round(waited / 1000)} s (${polls} polls); state ${info.state}`;
        throw sfCatalogue.error('SF_BULK_TIMEOUT', message);
      }
      await this.sleep(delay);
      waited += delay;
      delay = Math.min(Math.max(delay * 2, 1), MAX_POLL_DELAY_MS);
    }
    const column = matchColumn(this.target, op)!;
    const successful = (await again(() => job.getSuccessfulResults())) as unknown as ResultRecord[];
    const failed = (await again(() => job.getFailedResults())) as unknown as ResultRecord[];
    for (const record of successful) {
      const row = byMatch.get(record[column]);
      if (row) results.push({ key: row.key, ok: true, destinationId: record.sf__Id || row.destinationId });
    }
    for (const record of failed) {
      const row = byMatch.get(record[column]);
      if (!row) continue;
      const failure = bulkRecordFailure(record.sf__Error ?? '', this.secrets());
      // Deleting what is already gone is what mirror mode wants.
      if (op === 'delete' && failure.code === 'SF_ENTITY_IS_DELETED')
        results.push({ key: row.key, ok: true, destinationId: row.destinationId });
      else results.push({ key: row.key, ok: false, failure });
    }
    // Unprocessed records (an aborted job) get no result: they were not written.
    return { results, apiCalls: 0, settled: true };
  }

  /** A job Salesforce failed as a whole: a missing field fails every row alike; anything else is retried. */
  private jobFailure(jobId: string, errorMessage: string): Failure {
    const missing = /Field name not found : (\S+)/.exec(errorMessage);
    if (missing) {
      return sfCatalogue.failure(
        'SF_BULK_FIELD_NOT_FOUND',
        `${this.target.object} has no field ${missing[1]} (Bulk API job ${jobId}: ${errorMessage})`,
      );
    }
    return sfCatalogue.failure('SF_BULK_JOB_FAILED', `Bulk API job ${jobId} failed: ${errorMessage || 'no reason given'}`);
  }
}
