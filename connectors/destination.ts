/**
 * The contract between the core and a destination connector.
 *
 * A connector writes rows and *classifies* what went wrong; the core decides what to do about it
 * (retry with backoff, split a rejected batch, record the row in the failed-row index, stop the run).
 * The core never reads vendor error text: it reads `FailureClass`.
 *
 * Everything crossing the worker-thread boundary (targets, rows, results) is plain data.
 */

/** What a sync does with the model's rows: `mirror` also deletes rows that left the model. */
export type SyncMode = 'insert' | 'update' | 'upsert' | 'mirror';

/** The in-run retry policy of a batch's transient failures. */
export interface RetryPolicy {
  /** In-run attempts per row, the first send included. Rate-limit waits do not count. */
  attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
}

/**
 * - `transient`: may succeed if sent again (timeouts, 5xx, locked rows).
 * - `rate_limited`: the API asked us to slow down; waiting does not spend the row's attempt budget.
 * - `rejected`: the destination refused this row's data; resending the same values fails again.
 * - `needs_change`: refused until something outside the row changes (a missing parent record).
 * - `schema_drift`: a mapped field no longer exists or changed type in the destination.
 * - `auth`: credentials expired or lack permission; never retried, stops the run.
 * - `fatal`: the destination cannot be written at all (wrong table, bad URL); stops the run.
 * - `quota`: the destination's daily API quota is spent: nothing more is sent to it; unsent rows are
 *   deferred (not failed) to a run after the quota frees (README "API budget").
 */
export type FailureClass = 'transient' | 'rate_limited' | 'rejected' | 'needs_change' | 'schema_drift' | 'auth' | 'fatal' | 'quota';

/** The destination's API usage as it reported it (Salesforce: `Sforce-Limit-Info`, `/limits`). */
export interface ApiUsage {
  /** Calls counted in the destination's window (Salesforce: rolling 24 hours). */
  used: number;
  /** The window's limit; null when the destination reports none. */
  limit: number | null;
}

export interface Failure {
  errorClass: FailureClass;
  /** A stable code from the connector's own catalogue, e.g. `HTTP_503`, `PG_23502`. */
  code: string;
  message: string;
  /** What the user can do about it, from the connector's catalogue. */
  remediation?: string;
  /** Server-requested wait (Retry-After) before sending again. */
  retryAfterMs?: number;
  /**
   * The same values can never succeed (a value too long, an invalid email, a required field missing):
   * later runs skip the row until one of its mapped values or the mapping changes. The connector's
   * catalogue decides; absent means false (the sync's retry policy applies).
   */
  blocks?: boolean;
  /**
   * The destination fields the failure concerns, when the destination names them (a deleted or
   * read-only field): self-healing and its alerts name them.
   */
  fields?: string[];
}

/** The operation a batch performs. A batch carries one operation only. */
export type RowOp = 'insert' | 'update' | 'delete';

/** What the destination is asked to do with a batch: the sync mode decides for inserts and updates. */
export type WriteOperation = 'upsert' | 'insert' | 'update' | 'delete';

export function writeOperation(mode: SyncMode, op: RowOp): WriteOperation {
  if (op === 'delete') return 'delete';
  if (mode === 'insert') return 'insert';
  if (mode === 'update') return 'update';
  return 'upsert';
}

export interface OutboundRow {
  /** The model's primary key, as text. */
  key: string;
  /** Destination field → value, already mapped. Empty for deletes. */
  fields: Record<string, unknown>;
  /**
   * The same fields as the payload's exact JSON text, given to a client that `sendsFieldsText`: it may
   * put the text in its request as it is. `fields` is then parsed only if read (README, "How values
   * are rendered": the digits are the model's either way).
   */
  fieldsText?: string;
  /** The id the destination gave this row when it was last acknowledged (e.g. a Salesforce Id). */
  destinationId: string | null;
}

export type RowResult = { key: string; ok: true; destinationId?: string | null } | { key: string; ok: false; failure: Failure };

export interface WriteOutcome {
  /** One result per row sent, any order; a row with no result counts as a transient failure. */
  results: RowResult[];
  /** API calls this write spent, for budgets and the run summary. */
  apiCalls: number;
  /** The API usage the destination reported with its last answer, if it reports one. */
  apiUsage?: ApiUsage;
}

/** Thrown by `write` when the whole call failed: no row of it was acknowledged. */
export class DestinationError extends Error {
  readonly failure: Failure;
  readonly apiCalls: number;
  /** The API usage the destination reported with its answer, if any. */
  apiUsage?: ApiUsage;

  constructor(failure: Failure, apiCalls = 1, apiUsage?: ApiUsage) {
    super(failure.message);
    this.name = 'DestinationError';
    this.failure = failure;
    this.apiCalls = apiCalls;
    if (apiUsage) this.apiUsage = apiUsage;
  }
}

/** What a client writes to: plain data, sent to each worker thread. */
export interface WriteTarget {
  /** The project folder; relative paths in settings resolve against it. */
  projectDir?: string;
  destination: { name: string; type: string; settings: Record<string, unknown> };
  sync: {
    name: string;
    mode: SyncMode;
    /** The destination field the primary key is mapped to, if any. */
    keyField: string | null;
    /** Destination fields in mapping order. */
    fields: string[];
    /** Destination-specific keys of the sync file (`table`, `external_id`, …). */
    settings: Record<string, unknown>;
    /**
     * Mapped fields self-healing found deleted in the destination this run: left out of every payload
     * (the mapping keeps them; the next run's check sees them again). Absent means none.
     */
    omitFields?: string[];
    /** How many times this run healed the sync: a new value makes each worker open a fresh client. */
    healGeneration?: number;
    /**
     * What the destination's check (or the last heal) described of the mapped fields, as the connector
     * returned it (salesforce: type, length, precision and scale per field): the connector coerces
     * values by it before sending. Absent: not described this run; values go as the model gives them.
     */
    schema?: Record<string, unknown>;
  };
  /**
   * Values from the environment (the core masks them too): a connector masks them before it cuts a
   * message, since the core cannot mask a secret a cut has halved.
   */
  secrets?: string[];
  /**
   * Write calls a client may be given at once: a worker thread runs its share of the sync's
   * concurrency on one client. Absent means one.
   */
  callsPerClient?: number;
}

export interface DestinationClient {
  write(op: RowOp, rows: OutboundRow[]): Promise<WriteOutcome>;
  /**
   * The client writes payloads as JSON and can use `fieldsText`: the write thread then skips parsing
   * them (a parse and a stringify were about 40% of a thread's work per HTTP batch).
   */
  readonly sendsFieldsText?: boolean;
  close(): Promise<void>;
  /** Present when the destination also takes large change sets as server-side jobs (see `JobWriter`). */
  jobs?: JobWriter;
}

/** What a job write returns: `settled` is false when the job had not finished (its results come later). */
export interface JobOutcome extends WriteOutcome {
  settled: boolean;
}

/**
 * Writes many rows as one job the destination runs on its own (Salesforce Bulk API 2.0). The job keeps
 * running if our process dies, so the core records the job id before any row is uploaded, and a later
 * run reads the job's results through `resumeJob` instead of sending its rows again.
 *
 * A result is returned for each row the job settled; a row with none (not uploaded, or left
 * unprocessed by the job) was not written by it. `DestinationError` as for `write`.
 */
export interface JobWriter {
  /** Creates an empty job for `op`; nothing is uploaded yet. */
  openJob(op: RowOp): Promise<{ jobId: string; apiCalls: number }>;
  /** Uploads the rows to the job, starts it, waits for it, and maps its results back to the rows. */
  runJob(jobId: string, op: RowOp, rows: OutboundRow[]): Promise<JobOutcome>;
  /**
   * The job was recorded by a process that died: a job never started is aborted (no result), one
   * started is waited for and its results mapped back to `rows`, the rows recorded with it.
   */
  resumeJob(jobId: string, op: RowOp, rows: OutboundRow[]): Promise<JobOutcome>;
}

/** A model column's type, from the warehouse, in the few families a destination compares against its fields. */
export interface ColumnType {
  kind: 'text' | 'integer' | 'decimal' | 'float' | 'boolean' | 'date' | 'timestamp' | 'timestamptz' | 'time' | 'list' | 'json' | 'other';
  /** The engine's own name of the type, e.g. `DECIMAL(18,2)`, `character varying(80)`. */
  sql: string;
  /** Characters of a bounded text type (`varchar(80)`). */
  length?: number;
  /** Digits of a bounded decimal (`numeric(18,2)`: precision 18, scale 2). */
  precision?: number;
  scale?: number;
}

/** A mapped destination field and the model column that feeds it. */
export interface MappedColumn {
  field: string;
  column: string;
  type: ColumnType;
}

/**
 * A mapped column that does not fit its field. `error`: no value of the column's type can go into the
 * field (the sync does not run); `warning`: some values may not, and those rows fail one by one.
 */
export interface MappingProblem {
  field: string;
  severity: 'error' | 'warning';
  message: string;
}

/** What a check learned besides "usable". */
export interface CheckResult {
  /** The mapped fields as the destination describes them; given to the run's write target (`sync.schema`). */
  schema?: Record<string, unknown>;
}

/** A problem found while validating a sync against a connector, reported with the sync file's line. */
export interface SyncProblem {
  /** Dotted path in the sync file, e.g. `table` or `mapping.email`. */
  field: string;
  message: string;
}

export interface DestinationConnector {
  readonly type: string;
  /** JSON Schema properties allowed under `destinations.<name>` besides `type`, `batch_size`, `concurrency`, `retry`. */
  readonly settingsSchema: { properties: Record<string, object>; required?: string[] };
  /** JSON Schema properties this connector adds to a sync file. */
  readonly syncSchema: { properties: Record<string, object>; required?: string[] };
  readonly defaults: { batchSize: number; maxBatchSize: number; concurrency: number; retry: RetryPolicy };
  /** The connector's error catalogue (code → class and remediation), for alerts that explain a code. */
  readonly catalogue?: Readonly<Record<string, { readonly errorClass: FailureClass; readonly remediation: string }>>;
  /** Checks that need the whole sync (e.g. `external_id` must be a mapped field). */
  validateSync?(target: WriteTarget): SyncProblem[];
  /** Reachability and credentials, before any state is written. Throws `DestinationError`. */
  check(target: WriteTarget): Promise<CheckResult | void>;
  /**
   * Compares the model's column types with the fields `check` described (its `schema`): what cannot go
   * at all, and what may fail for some values. Absent: types are not compared.
   */
  compareColumns?(schema: Record<string, unknown>, columns: MappedColumn[]): MappingProblem[];
  /**
   * Rows per server-side job when this run should write through jobs (`JobWriter`), given how many
   * rows it sends; null for ordinary batches. Absent: never.
   */
  jobSize?(target: WriteTarget, rowsToSend: number): number | null;
  /**
   * True when a delete goes to the destination id the row was acknowledged with (a record Id, or the
   * `external_id` value recorded): the run then never deletes a record another live key holds by that
   * id (core/state/plan-table.ts `forgetHeldDeletes`). Absent: deletes go by the row's key.
   */
  deletesByDestinationId?(target: WriteTarget): boolean;
  /** Opens a client; called once per worker thread and reused for every batch. */
  connect(target: WriteTarget): Promise<DestinationClient>;
  /**
   * Loads what `connect` would load first (a client library), ahead of it: a write thread started
   * for a sync to this destination runs it as it starts, while the sync plans (worker-pool.ts).
   */
  preload?(): Promise<unknown>;
  /**
   * The destination's API usage, read at the start of a run (Salesforce: GET /limits); null when it
   * has no such notion. Throws `DestinationError`.
   */
  apiUsage?(target: WriteTarget): Promise<{ usage: ApiUsage; apiCalls: number } | null>;
  /**
   * Self-healing after `schema_drift` failures: looks at the destination's schema again and says which
   * of `fields` (the mapped ones the failures named, or all mapped ones) are gone. The core then leaves
   * those out of the payloads and re-sends the rows; a field still there that fails again is a
   * permission change, which stops the sync. `schema`, when given, replaces the target's: a field whose
   * type or length changed is coerced to the new one.
   */
  heal?(target: WriteTarget): Promise<{ deleted: string[]; apiCalls: number; schema?: Record<string, unknown> }>;
}
