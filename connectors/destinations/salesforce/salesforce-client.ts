/**
 * Writes batches of at most 200 rows through jsforce's sObject Collections calls, one Connection per
 * worker thread:
 * - upsert, mirror: `upsert(records, external_id)` → PATCH /composite/sobjects/{object}/{external_id}
 * - insert: `create(records)` → POST /composite/sobjects
 * - update: rows with a stored Salesforce Id are updated by it; the others are first looked up by
 *   external_id (one SOQL query), and a value matching no record fails as SF_NO_MATCH.
 *   Then `update(records)` → PATCH /composite/sobjects
 * - delete: `destroy(ids)` → DELETE /composite/sobjects?ids=… with the Id stored at acknowledgement;
 *   a record already deleted counts as deleted.
 * Every call uses allOrNone=false, so one bad record fails alone and the rest land.
 */
import type { Connection } from 'jsforce';
import {
  DestinationError,
  type ApiUsage,
  type Failure,
  type DestinationClient,
  type JobWriter,
  type OutboundRow,
  type RowOp,
  type RowResult,
  type WriteOutcome,
} from '../../destination.js';
import { ExactNumber } from '../../../shared/exact-json.js';
import { metered, openConnection, type CallMeter } from '../../salesforce/connection.js';
import { classifyRequestError, recordFailure, sfCatalogue, type SaveErrorLike } from '../../salesforce/errors.js';
import type { SalesforceTarget } from './settings.js';
import { BulkIngest } from './bulk-ingest.js';
import { coerceRows } from './field-coercion.js';

/**
 * Refusals of a value for its field's type or length: `JSON_PARSER_ERROR` (REST cannot read the value
 * as the field's type), `INVALID_TYPE_ON_FIELD_IN_RECORD`, and the range and length checks.
 */
const TYPE_REFUSALS = new Set([
  'SF_JSON_PARSER_ERROR',
  'SF_INVALID_TYPE_ON_FIELD_IN_RECORD',
  'SF_STRING_TOO_LONG',
  'SF_NUMBER_OUTSIDE_VALID_RANGE',
]);

interface SaveResultLike {
  id?: string | null;
  success?: boolean;
  errors?: SaveErrorLike[];
}

type SfRecord = Record<string, unknown>;

/**
 * A number a JS number cannot hold (9007199254740993, 12345678901234567.89) goes as a string of its
 * digits, which Salesforce reads into the field's type exactly: jsforce's JSON.stringify would round it.
 */
const sendable = (value: unknown) => (value instanceof ExactNumber ? value.text : value);

/** The row's fields added to `record` in row order, but `skip`. */
function recordFields(row: OutboundRow, record: SfRecord = {}, skip?: string): SfRecord {
  const fields = row.fields;
  for (const name in fields) if (name !== skip && Object.hasOwn(fields, name)) record[name] = sendable(fields[name]);
  return record;
}

/** Keys jsforce's `upsert` takes out of a record (the record's own sObject type): such a mapping goes through jsforce. */
const JSFORCE_RECORD_KEYS = ['type', 'attributes'];

/**
 * `conn.sobject(object).upsert(records, field, { allOrNone: false })` for sObject Collections, sending
 * byte for byte the PATCH jsforce would (same URL, headers, and body: the external id first, then
 * `attributes`, then the other fields in row order), but building each record once: jsforce's
 * `_upsertMany` copies every record again by rest-spread, which with our own copy cost about 10% of a
 * write thread's CPU (profile of 100k rows).
 */
async function upsertCollection(
  conn: Connection,
  object: string,
  field: string,
  keyed: Array<{ row: OutboundRow; value: unknown }>,
): Promise<unknown> {
  const attributes = { type: object };
  const records: SfRecord[] = [];
  for (const { row, value } of keyed) {
    const fields = row.fields;
    if (JSFORCE_RECORD_KEYS.some((key) => Object.hasOwn(fields, key))) {
      const all = keyed.map((k) => ({ ...recordFields(k.row), [field]: sendable(k.value) }));
      return conn.sobject(object).upsert(all, field, { allOrNone: false });
    }
    records.push(recordFields(row, { [field]: sendable(value), attributes }, field));
  }
  return conn.request({
    method: 'PATCH',
    url: [conn._baseUrl(), 'composite', 'sobjects', object, field].join('/'),
    body: JSON.stringify({ allOrNone: false, records }),
    headers: { 'content-type': 'application/json' },
  });
}

/** The org's usage from the last answer's `Sforce-Limit-Info: api-usage=used/limit` (jsforce keeps it in `limitInfo`). */
export function usageOf(conn: Connection): ApiUsage | undefined {
  const usage = conn.limitInfo?.apiUsage;
  return usage && Number.isFinite(usage.used) ? { used: usage.used, limit: Number.isFinite(usage.limit) ? usage.limit : null } : undefined;
}

function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

/** jsforce refuses a falsy external id ("External ID is not found in record"); 0 is a real value. */
function keyValue(value: unknown): unknown {
  return value === 0 || value === false ? String(value) : value;
}

export class SalesforceClient implements DestinationClient {
  readonly jobs: JobWriter;

  private constructor(
    private readonly target: SalesforceTarget,
    private readonly conn: Connection,
  ) {
    const bulk = new BulkIngest(conn, target, () => this.secrets());
    this.jobs = {
      openJob: (op) => this.jobCall(`open a Bulk API job for ${op}`, async () => ({ jobId: await bulk.open(op), apiCalls: 0 })),
      runJob: (jobId, op, rows) =>
        this.jobCall(`Bulk API job ${jobId}`, async () => {
          const refused: RowResult[] = [];
          const outcome = await bulk.run(jobId, op, op === 'delete' ? rows : this.coerce(rows, refused));
          return { ...outcome, results: [...refused, ...outcome.results.map((r) => this.stale(r))] };
        }),
      resumeJob: (jobId, op, rows) => this.jobCall(`Bulk API job ${jobId}`, () => bulk.resume(jobId, op, rows)),
    };
  }

  /** A Bulk API call with its HTTP calls counted, and what it throws classified like a write's. */
  private async jobCall<T extends { apiCalls: number }>(context: string, work: () => Promise<T>): Promise<T> {
    const meter: CallMeter = { calls: 0 };
    try {
      const outcome = await metered(meter, work);
      return { ...outcome, apiCalls: meter.calls };
    } catch (error) {
      if (error instanceof DestinationError) throw new DestinationError(error.failure, meter.calls);
      throw new DestinationError(classifyRequestError(error, meter.lastStatus, context, this.secrets()), meter.calls);
    }
  }

  static async open(target: SalesforceTarget): Promise<SalesforceClient> {
    return new SalesforceClient(target, await openConnection(target, { transportRetries: false }));
  }

  async write(op: RowOp, rows: OutboundRow[]): Promise<WriteOutcome> {
    const meter: CallMeter = { calls: 0 };
    const results: RowResult[] = [];
    const sent = op === 'delete' ? rows : this.coerce(rows, results);
    if (sent.length === 0) return this.outcome(results, meter);
    const refused = results.length;
    try {
      await metered(meter, async () => {
        if (op === 'delete') await this.destroy(sent, results);
        else if (this.target.mode === 'insert') await this.create(sent, results);
        else if (this.target.mode === 'update') await this.update(sent, results);
        else await this.upsert(sent, results);
      });
      for (let i = refused; i < results.length; i++) results[i] = this.stale(results[i]);
    } catch (error) {
      const failure = this.staleFailure(classifyRequestError(error, meter.lastStatus, `${op} ${this.target.object}`, this.secrets()));
      // A missing field fails every record alike: answering per row spares the core halving the batch to one-row calls.
      if (failure.errorClass === 'schema_drift') {
        const answered = new Set(results.map((r) => r.key));
        for (const row of sent) if (!answered.has(row.key)) results.push({ key: row.key, ok: false, failure });
        return this.outcome(results, meter);
      }
      throw new DestinationError(failure, meter.calls, usageOf(this.conn));
    }
    return this.outcome(results, meter);
  }

  /** Rows with their values coerced to the described field types; rows that do not fit get their result now. */
  private coerce(rows: OutboundRow[], results: RowResult[]): OutboundRow[] {
    return this.target.shape ? coerceRows(this.target.shape, rows, results, this.secrets()) : rows;
  }

  private stale(result: RowResult): RowResult {
    return result.ok ? result : { ...result, failure: this.staleFailure(result.failure) };
  }

  /**
   * A value refused for its type or length after it was coerced to the check's describe means the field
   * changed since: `schema_drift`, so the run describes the object again and coerces to the new type
   * (README "Self-healing"). After that heal the describe is fresh, and the refusal is the value's own.
   */
  private staleFailure(failure: Failure): Failure {
    if (!this.target.shape || this.target.healed || !TYPE_REFUSALS.has(failure.code)) return failure;
    const { blocks: _blocks, ...rest } = sfCatalogue.passthrough(failure.code, 'SF_FIELD_TYPE_CHANGED', failure.message);
    return failure.fields ? { ...rest, fields: failure.fields } : rest;
  }

  private outcome(results: RowResult[], meter: CallMeter): WriteOutcome {
    const apiUsage = usageOf(this.conn);
    return apiUsage ? { results, apiCalls: meter.calls, apiUsage } : { results, apiCalls: meter.calls };
  }

  private secrets(): string[] {
    // A refreshed token is not in the environment, so the core's masking does not know it.
    const current = this.conn.accessToken;
    return current ? [...this.target.secrets, current] : this.target.secrets;
  }

  private collect(sent: OutboundRow[], answers: SaveResultLike[], results: RowResult[], okCodes: string[] = []): void {
    sent.forEach((row, index) => {
      const answer = answers[index];
      // A row left without a result is retried by the core as transient.
      if (!answer) return;
      const code = answer.errors?.[0]?.statusCode ?? answer.errors?.[0]?.errorCode;
      if (answer.success || (typeof code === 'string' && okCodes.includes(code))) {
        results.push({ key: row.key, ok: true, destinationId: answer.id ?? row.destinationId });
      } else {
        results.push({ key: row.key, ok: false, failure: recordFailure(answer.errors, this.secrets()) });
      }
    });
  }

  /** Rows whose external_id value is blank fail here; the others are returned with their value. */
  private keyed(rows: OutboundRow[], results: RowResult[]): Array<{ row: OutboundRow; value: unknown }> {
    const field = this.target.externalId!;
    const keyed: Array<{ row: OutboundRow; value: unknown }> = [];
    for (const row of rows) {
      const value = row.fields[field];
      if (blank(value)) {
        results.push({
          key: row.key,
          ok: false,
          failure: sfCatalogue.failure('SF_NO_EXTERNAL_ID', `row ${row.key} has no value for ${field}`),
        });
      } else {
        keyed.push({ row, value: keyValue(value) });
      }
    }
    return keyed;
  }

  private async upsert(rows: OutboundRow[], results: RowResult[]): Promise<void> {
    const field = this.target.externalId!;
    const keyed = this.keyed(rows, results);
    if (keyed.length === 0) return;
    const answers = await upsertCollection(this.conn, this.target.object, field, keyed);
    this.collect(
      keyed.map((k) => k.row),
      answers as SaveResultLike[],
      results,
    );
  }

  private async create(rows: OutboundRow[], results: RowResult[]): Promise<void> {
    if (rows.length === 0) return;
    const answers = await this.conn.sobject(this.target.object).create(
      rows.map((row) => recordFields(row)),
      { allOrNone: false },
    );
    this.collect(rows, answers as SaveResultLike[], results);
  }

  private async update(rows: OutboundRow[], results: RowResult[]): Promise<void> {
    const field = this.target.externalId!;
    const ids = new Map<string, string>();
    for (const row of rows) if (row.destinationId) ids.set(row.key, row.destinationId);
    const unknown = this.keyed(
      rows.filter((row) => !ids.has(row.key)),
      results,
    );
    if (unknown.length > 0) {
      const values = [...new Set(unknown.map((k) => String(k.value)))];
      const found = (await this.conn.sobject(this.target.object).find({ [field]: { $in: values } }, ['Id', field])) as SfRecord[];
      // External ids match case-insensitively in Salesforce unless the field is marked case-sensitive.
      const idByValue = new Map(found.map((record) => [String(record[field]).toLowerCase(), String(record.Id)]));
      for (const { row, value } of unknown) {
        const id = idByValue.get(String(value).toLowerCase());
        if (id) ids.set(row.key, id);
        else {
          const message = `no ${this.target.object} has ${field} = ${String(value)}`;
          results.push({ key: row.key, ok: false, failure: sfCatalogue.failure('SF_NO_MATCH', message) });
        }
      }
    }
    const sent = rows.filter((row) => ids.has(row.key));
    if (sent.length === 0) return;
    const records = sent.map((row) => ({ ...recordFields(row), Id: ids.get(row.key)! }));
    const answers = (await this.conn.sobject(this.target.object).update(records, { allOrNone: false })) as SaveResultLike[];
    this.collect(
      sent,
      answers.map((answer, index) => ({ ...answer, id: answer.id ?? records[index].Id })),
      results,
    );
  }

  private async destroy(rows: OutboundRow[], results: RowResult[]): Promise<void> {
    const sent: OutboundRow[] = [];
    for (const row of rows) {
      if (row.destinationId) sent.push(row);
      else results.push({ key: row.key, ok: false, failure: sfCatalogue.failure('SF_NO_ID', `row ${row.key} has no Salesforce Id`) });
    }
    if (sent.length === 0) return;
    const answers = await this.conn.sobject(this.target.object).destroy(
      sent.map((row) => row.destinationId!),
      { allOrNone: false },
    );
    // Deleting what is already gone is what mirror mode wants.
    this.collect(sent, answers as SaveResultLike[], results, ['ENTITY_IS_DELETED']);
  }

  async close(): Promise<void> {}
}
