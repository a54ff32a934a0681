/**
 * The postgres destination's error catalogue: SQLSTATE (or socket errno) → failure class and remediation.
 * Codes are `PG_<sqlstate>`, `PG_<errno>` for socket errors, and a few of the connector's own.
 *
 * 42P01 (table missing) is `fatal`: no row of the sync can be written. 42703 (column missing) is
 * `schema_drift`: `check` verified every mapped column before the run (failing it as the fatal
 * `PG_MISSING_COLUMN`), so a missing one mid-run means the table changed under the sync.
 */
import { oneLine } from '../../../shared/errors.js';
import { redact } from '../../../shared/redact.js';
import type { Failure, FailureClass } from '../../destination.js';

interface Entry {
  errorClass: FailureClass;
  remediation: string;
}

const entry = (errorClass: FailureClass, remediation: string): Entry => ({ errorClass, remediation });

const bySqlstate: Record<string, Entry> = {
  '40001': entry('transient', 'A concurrent transaction conflicted with this one; the rows are retried.'),
  '40P01': entry('transient', 'A deadlock with another writer aborted the statement; the rows are retried.'),
  '55P03': entry('transient', 'Another session holds a lock on these rows; the rows are retried.'),
  '57014': entry('transient', 'The statement was cancelled (statement_timeout?); lower batch_size if it keeps happening.'),
  '57P01': entry('transient', 'The server is shutting down or restarting; the rows are retried.'),
  '57P02': entry('transient', 'The server is recovering from a crash; the rows are retried.'),
  '57P03': entry('transient', 'The server is not accepting connections yet; the rows are retried.'),
  '42501': entry('auth', 'Grant the role INSERT, UPDATE, DELETE and SELECT on the table and USAGE on its schema.'),
  '42P01': entry('fatal', 'Create the table, or fix `table` in the sync or `schema` in the destination.'),
  '3F000': entry('fatal', 'Create the schema or fix `schema` in the destination.'),
  '3D000': entry('fatal', 'Create the database or fix the database name in the destination url.'),
  '42703': entry('schema_drift', 'Add the column back to the table or remove it from the sync mapping.'),
  '42804': entry('schema_drift', 'A column changed type; change it back or map a value of the new type.'),
  '23505': entry('rejected', 'Another row already holds this unique value; fix the value in the model.'),
  '23502': entry('rejected', 'A NOT NULL column got null; give it a value in the model or relax the column.'),
  '23503': entry('needs_change', 'The referenced row does not exist yet; sync the parent rows first.'),
  '23514': entry('rejected', 'The row fails a CHECK constraint; fix the value in the model.'),
  '22001': entry('rejected', 'A value is longer than its column allows; shorten it in the model or widen the column.'),
  '22003': entry('rejected', 'A number is out of range for its column; fix the value or widen the column.'),
  '22P02': entry('rejected', 'A value does not parse as the column\'s type; fix the value in the model.'),
};

/** Whole SQLSTATE classes, for codes without their own entry. */
const bySqlstateClass: Record<string, Entry> = {
  '22': entry('rejected', 'A value is invalid for its column; fix the value in the model.'),
  '23': entry('rejected', 'The row violates a constraint of the table; fix the value in the model.'),
  '08': entry('transient', 'The connection to the server failed; the rows are retried.'),
  '53': entry('transient', 'The server is out of a resource (connections, memory, disk); the rows are retried.'),
  '28': entry('auth', 'Fix the user or password in the destination url, or allow this client in pg_hba.conf.'),
};

const bySocketErrno: Record<string, Entry> = {
  ECONNREFUSED: entry('transient', 'Start the server or fix the host and port in the destination url.'),
  ECONNRESET: entry('transient', 'The server closed the connection; the rows are retried.'),
  ETIMEDOUT: entry('transient', 'The server did not answer in time; check the network path to it.'),
  EPIPE: entry('transient', 'The server closed the connection; the rows are retried.'),
  EHOSTUNREACH: entry('transient', 'The host is unreachable; check the network path to it.'),
  ENETUNREACH: entry('transient', 'The network is unreachable; check the network path to the server.'),
  EAI_AGAIN: entry('transient', 'DNS lookup failed for now; the rows are retried.'),
  ENOTFOUND: entry('fatal', 'The host name does not resolve; fix the host in the destination url.'),
};

/** Errors the connector itself raises or that `pg` raises without a code. */
const ownCodes: Record<string, Entry> = {
  PG_CONFIG: entry('fatal', 'Fix the destination or sync settings.'),
  PG_NO_UNIQUE_KEY: entry('fatal', 'Add a primary key or unique constraint on the key column, which ON CONFLICT needs.'),
  PG_NOT_A_TABLE: entry('fatal', 'Point `table` at a table; views and other relations cannot be upserted into.'),
  PG_NO_KEY: entry('rejected', 'Give every row a non-null external_id; a row never acknowledged with one cannot be deleted by it.'),
  PG_MISSING_COLUMN: entry('fatal', 'Add the column to the table or remove it from the sync mapping.'),
  PG_CONNECT_TIMEOUT: entry('transient', 'The server did not accept a connection in time; check that it is up and reachable.'),
  PG_CONNECTION_LOST: entry('transient', 'The connection dropped mid-statement; the rows are retried.'),
  PG_UNKNOWN: entry('fatal', 'Unexpected error; see the message and the postgres server log.'),
  NOT_FOUND: entry('rejected', 'No row in the table has this key; in update mode the row must exist first.'),
};

function lookup(code: string): Entry {
  return bySqlstate[code] ?? bySqlstateClass[code.slice(0, 2)] ?? entry('fatal', 'See the message and the postgres server log.');
}

/** The failure for one of the connector's own codes. */
export function pgFailure(code: string, message: string): Failure {
  const known = ownCodes[code] ?? lookup(code.replace(/^PG_/, ''));
  return { errorClass: known.errorClass, code, message, remediation: known.remediation };
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  errors?: unknown;
}

/** The SQLSTATE or errno of what `pg` threw; node reports dual-stack connect failures as an AggregateError. */
function errorCode(error: ErrorLike): string | undefined {
  if (typeof error.code === 'string') return error.code;
  if (Array.isArray(error.errors)) {
    for (const inner of error.errors as ErrorLike[]) {
      if (inner && typeof inner.code === 'string') return inner.code;
    }
  }
  return undefined;
}

/** Classifies anything `pg` or kysely threw. `secrets` are masked out of the message. */
export function classifyPgError(error: unknown, context: string, secrets: string[] = []): Failure {
  const e = (error ?? {}) as ErrorLike;
  const code = errorCode(e);
  const text = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  const detail = typeof e.detail === 'string' ? ` (${e.detail})` : '';
  const message = redact(oneLine(`${context}: ${text}${detail}`), secrets);

  // Socket errnos first: EPIPE would otherwise pass for a SQLSTATE.
  if (code && bySocketErrno[code]) return { ...bySocketErrno[code], code: `PG_${code}`, message };
  if (code && /^[0-9A-Z]{5}$/.test(code)) return { ...lookup(code), code: `PG_${code}`, message };
  if (/timeout exceeded when trying to connect|connection timeout/i.test(text)) {
    return pgFailure('PG_CONNECT_TIMEOUT', message);
  }
  if (/connection terminated/i.test(text)) return pgFailure('PG_CONNECTION_LOST', message);
  return pgFailure(code ? `PG_${code}` : 'PG_UNKNOWN', message);
}
