/**
 * The piscina worker entry. Takes plain data, returns plain data: a batch of planned rows in, per-row
 * outcomes out. Each worker thread opens its own destination client once and reuses it.
 */
import {
  DestinationError,
  type DestinationClient,
  type Failure,
  type JobOutcome,
  type OutboundRow,
  type RowOp,
  type WriteTarget,
} from '../../connectors/destination.js';
import { NonFiniteNumberError, parseExactJson } from '../../shared/exact-json.js';
import { loadConnector } from '../../connectors/load-connector.js';
import type { RetryPolicy } from '../config/types.js';
import { deliverBatch, type DeliveredRow, type DeliveryResult } from './deliver-batch.js';
import { backoffDelay, sleep } from './backoff.js';
import { enter, leave, type GateTicket } from './send-gate.js';

export interface WriteTask {
  target: WriteTarget;
  op: RowOp;
  /** Payloads stay JSON text until here, so parsing happens off the main thread. */
  rows: Array<{ key: string; payload: string | null; destinationId: string | null }>;
  retry: RetryPolicy;
  /**
   * Work on a server-side job instead of a batch write (connectors/destination.ts `JobWriter`): `open`
   * creates the job (no rows), `run` writes the rows through it, `resume` reads one a dead process
   * left. `restBatchSize` bounds the ordinary batches that rows the job did not write are sent in.
   */
  job?: { step: 'open' } | { step: 'run' | 'resume'; jobId: string; restBatchSize: number };
  /** A batch that may wait queued in the thread passes this gate before it is sent (send-gate.ts). */
  gate?: GateTicket;
}

/** The answer to an `open` step: the job's id, or why there is none. */
export interface JobOpened {
  jobId: string | null;
  apiCalls: number;
  failure: Failure | null;
}

const clients = new Map<string, Promise<DestinationClient>>();

function clientFor(target: WriteTarget): Promise<DestinationClient> {
  const id = JSON.stringify([target.destination, target.sync]);
  let client = clients.get(id);
  if (!client) {
    client = loadConnector(target.destination.type).then((connector) => {
      if (!connector) throw new Error(`unknown destination type ${target.destination.type}`);
      return connector.connect(target);
    });
    client.catch(() => clients.delete(id));
    clients.set(id, client);
  }
  return client;
}

/**
 * Loads the client library of a destination type's connector (`DestinationConnector.preload`), as a
 * write thread starts. A library that fails to load is left for `connect` to report.
 */
export async function preload(destinationType: string | null | undefined): Promise<void> {
  if (destinationType)
    await loadConnector(destinationType)
      .then((connector) => connector?.preload?.())
      .catch(() => {});
}

export default async function writeBatch(task: WriteTask): Promise<DeliveryResult | JobOpened> {
  const client = await connected(task);
  if (task.job?.step === 'open') return 'failure' in client ? { jobId: null, apiCalls: 0, failure: client.failure } : openJob(client, task);
  // Parsed before the gate (send-gate.ts): a queued batch is ready to go the moment a call slot frees.
  const prepared = 'failure' in client ? client : prepare(task, client);
  if (!task.gate) return send(task, prepared);
  if (!(await enter(task.gate))) return { rows: [], apiCalls: 0, fatal: null, unsent: true };
  let result: DeliveryResult | undefined;
  try {
    result = await send(task, prepared);
    return result;
  } finally {
    const hold = !result || result.fatal !== null || result.rows.some((r) => r.status !== 'succeeded');
    leave(task.gate, { hold, stop: !!result?.fatal });
    if (result && hold) result.judging = true;
  }
}

/** The destination client for the task's target, or the failure that prevents connecting. */
async function connected(task: WriteTask): Promise<DestinationClient | { failure: Failure }> {
  try {
    return await clientFor(task.target);
  } catch (error) {
    const failure = (error as { failure?: Failure }).failure ?? {
      errorClass: 'fatal' as const,
      code: 'CONNECT_FAILED',
      message: (error as Error).message,
    };
    return { failure };
  }
}

interface Prepared {
  client: DestinationClient;
  rows: OutboundRow[];
  /** Rows whose payload no destination can take: failed without a call. */
  unsendable: DeliveredRow[];
}

/** The task's rows as the client takes them. */
function prepare(task: WriteTask, client: DestinationClient): Prepared {
  const omitted = task.target.sync.omitFields ?? [];
  const rows: OutboundRow[] = [];
  const unsendable: DeliveredRow[] = [];
  const asText = client.sendsFieldsText === true && omitted.length === 0;
  for (const r of task.rows) {
    try {
      if (asText && r.payload && !MAYBE_NON_FINITE.test(r.payload)) {
        rows.push(textRow(r.key, r.payload, r.destinationId));
        continue;
      }
      const fields = r.payload ? (parseExactJson(r.payload) as Record<string, unknown>) : {};
      // Fields self-healing found deleted: left out, the mapping and the row hash unchanged.
      for (const field of omitted) delete fields[field];
      rows.push({ key: r.key, fields, destinationId: r.destinationId });
    } catch (error) {
      unsendable.push({ key: r.key, status: 'failed', failure: invalidValue(error), sends: 0 });
    }
  }
  return { client, rows, unsendable };
}

async function send(task: WriteTask, prepared: Prepared | { failure: Failure }): Promise<DeliveryResult> {
  if ('failure' in prepared) {
    const { failure } = prepared;
    return { rows: task.rows.map((r) => ({ key: r.key, status: 'aborted', failure, sends: 0 })), apiCalls: 0, fatal: failure };
  }
  const { client, rows, unsendable } = prepared;
  if (rows.length === 0) return { rows: unsendable, apiCalls: 0, fatal: null, jobSettled: true };
  if (task.job) {
    const delivered = await jobWrite(client, task, rows);
    return { ...delivered, rows: [...delivered.rows, ...unsendable] };
  }
  return compact(task, await deliverBatch(client, task.op, rows, task.retry), unsendable);
}

/** Moves the acknowledged rows out of `rows`, into `plain` and `newIds` (deliver-batch.ts). */
function compact(task: WriteTask, delivered: DeliveryResult, unsendable: DeliveredRow[]): DeliveryResult {
  const at = new Map<string, number>();
  task.rows.forEach((r, i) => at.set(r.key, i));
  const plain: number[] = [];
  const newIds: Array<[number, string]> = [];
  const rows: DeliveredRow[] = [];
  for (const row of delivered.rows) {
    const i = at.get(row.key);
    if (row.status !== 'succeeded' || i === undefined) rows.push(row);
    else if (row.destinationId === task.rows[i].destinationId) plain.push(i);
    else if (row.destinationId !== null) {
      plain.push(i);
      newIds.push([i, row.destinationId]);
    } else rows.push(row);
  }
  rows.push(...unsendable);
  return { ...delivered, rows, plain, ...(newIds.length > 0 && { newIds }) };
}

/**
 * A NaN or ±Infinity token may be in the text (after `:`, `,` or `[`): such a row takes the parse, which
 * fails it alone. A string holding one only costs that parse.
 */
const MAYBE_NON_FINITE = /[:,[] ?-?(?:NaN|Infinity|nan|inf)/;

/** A row whose payload text goes out as it is; its `fields` are parsed only if a client reads them. */
function textRow(key: string, payload: string, destinationId: string | null): OutboundRow {
  let fields: Record<string, unknown> | undefined;
  return {
    key,
    destinationId,
    fieldsText: payload,
    get fields() {
      fields ??= parseExactJson(payload) as Record<string, unknown>;
      return fields;
    },
  };
}

/** Creates a job, retrying transient refusals by the sync's retry policy. */
async function openJob(client: DestinationClient, task: WriteTask): Promise<JobOpened> {
  if (!client.jobs) return { jobId: null, apiCalls: 0, failure: connectorFailure('the destination cannot write through jobs') };
  let apiCalls = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const opened = await client.jobs.openJob(task.op);
      return { jobId: opened.jobId, apiCalls: apiCalls + opened.apiCalls, failure: null };
    } catch (error) {
      apiCalls += error instanceof DestinationError ? error.apiCalls : 1;
      const failure = error instanceof DestinationError ? error.failure : connectorFailure(String((error as Error)?.message ?? error));
      const again = failure.errorClass === 'transient' || failure.errorClass === 'rate_limited';
      if (!again || attempt >= task.retry.attempts) return { jobId: null, apiCalls, failure };
      await sleep(Math.max(failure.retryAfterMs ?? 0, backoffDelay(attempt, task.retry.base_delay_ms, task.retry.max_delay_ms)));
    }
  }
}

/**
 * Runs (or resumes) a job and settles each row by its result. After `run`, rows the job did not write
 * (not uploaded, unprocessed, or refused transiently) go through ordinary batches with the in-run
 * retry policy; after `resume` they are left unsettled: the run that follows plans them again. A job
 * whose outcome is unknown (the call failed) stops the run with every row unsettled, and stays
 * recorded for the next run to read.
 */
async function jobWrite(client: DestinationClient, task: WriteTask, rows: OutboundRow[]): Promise<DeliveryResult> {
  const job = task.job as { step: 'run' | 'resume'; jobId: string; restBatchSize: number };
  let outcome: JobOutcome;
  try {
    if (!client.jobs) throw new DestinationError(connectorFailure('the destination cannot write through jobs'), 0);
    outcome =
      job.step === 'run' ? await client.jobs.runJob(job.jobId, task.op, rows) : await client.jobs.resumeJob(job.jobId, task.op, rows);
  } catch (error) {
    const cause = error instanceof DestinationError ? error.failure : connectorFailure(String((error as Error)?.message ?? error));
    const fatal: Failure = {
      errorClass: 'fatal',
      code: 'JOB_INTERRUPTED',
      message: `job ${job.jobId}: ${cause.code}: ${cause.message}`,
      remediation: `the job's results are read by the next run, before it plans${cause.remediation ? `; ${cause.remediation}` : ''}`,
    };
    const apiCalls = error instanceof DestinationError ? error.apiCalls : 1;
    return { rows: rows.map((r) => ({ key: r.key, status: 'aborted', failure: fatal, sends: 1 })), apiCalls, fatal, jobSettled: false };
  }
  const byKey = new Map(outcome.results.map((r) => [r.key, r]));
  const settled: DeliveredRow[] = [];
  const unwritten: OutboundRow[] = [];
  for (const row of rows) {
    const result = byKey.get(row.key);
    if (result?.ok) settled.push({ key: row.key, status: 'succeeded', destinationId: result.destinationId ?? row.destinationId, sends: 1 });
    else if (result && result.failure.errorClass !== 'transient' && result.failure.errorClass !== 'rate_limited') {
      settled.push({ key: row.key, status: 'failed', failure: result.failure, sends: 1 });
    } else if (job.step === 'run') unwritten.push(row);
    else settled.push({ key: row.key, status: 'aborted', sends: 1 });
  }
  let apiCalls = outcome.apiCalls;
  let fatal: Failure | null = null;
  for (let at = 0; at < unwritten.length && !fatal; at += job.restBatchSize) {
    const chunk = unwritten.slice(at, at + job.restBatchSize);
    const delivered = await deliverBatch(client, task.op, chunk, task.retry);
    settled.push(...delivered.rows.map((r) => ({ ...r, sends: r.sends + 1 })));
    apiCalls += delivered.apiCalls;
    fatal = delivered.fatal;
  }
  const done = new Set(settled.map((r) => r.key));
  for (const row of unwritten)
    if (!done.has(row.key)) settled.push({ key: row.key, status: 'aborted', failure: fatal ?? undefined, sends: 1 });
  return { rows: settled, apiCalls, fatal, jobSettled: true };
}

function connectorFailure(message: string): Failure {
  return { errorClass: 'fatal', code: 'CONNECTOR_ERROR', message };
}

/** A row whose values no destination can take fails alone, never sent; the next run retries its latest values. */
function invalidValue(error: unknown): Failure {
  if (error instanceof NonFiniteNumberError) {
    return {
      errorClass: 'rejected',
      code: 'INVALID_NUMBER',
      message: `non-finite number: ${error.message}`,
      remediation: 'JSON has no NaN or Infinity: filter the row out, or map the value to null (nullif, case) in the model.',
      blocks: true,
    };
  }
  return { errorClass: 'rejected', code: 'INVALID_PAYLOAD', message: `unreadable payload: ${(error as Error).message}` };
}
