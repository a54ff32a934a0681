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
import type { Failure } from '../../destination.js';
import { defineCatalogue, hasCode, type CatalogueEntry } from '../../kit/catalogue.js';

const bySqlstate = {
  PG_40001: { errorClass: 'transient', remediation: 'A concurrent transaction conflicted with this one; the rows are retried.' },
  PG_40P01: { errorClass: 'transient', remediation: 'A deadlock with another writer aborted the statement; the rows are retried.' },
  PG_55P03: { errorClass: 'transient', remediation: 'Another session holds a lock on these rows; the rows are retried.' },
  PG_57014: {
    errorClass: 'transient',
    remediation: 'The statement was cancelled (statement_timeout?); lower batch_size if it keeps happening.',
  },
  PG_57P01: { errorClass: 'transient', remediation: 'The server is shutting down or restarting; the rows are retried.' },
  PG_57P02: { errorClass: 'transient', remediation: 'The server is recovering from a crash; the rows are retried.' },
  PG_57P03: { errorClass: 'transient', remediation: 'The server is not accepting connections yet; the rows are retried.' },
  PG_42501: { errorClass: 'auth', remediation: 'Grant the role INSERT, UPDATE, DELETE and SELECT on the table and USAGE on its schema.' },
  PG_42P01: { errorClass: 'fatal', remediation: 'Create the table, or fix `table` in the sync or `schema` in the destination.' },
  PG_3F000: { errorClass: 'fatal', remediation: 'Create the schema or fix `schema` in the destination.' },
  PG_3D000: { errorClass: 'fatal', remediation: 'Create the database or fix the database name in the destination url.' },
  PG_42703: { errorClass: 'schema_drift', remediation: 'Add the column back to the table or remove it from the sync mapping.' },
  PG_42804: { errorClass: 'schema_drift', remediation: 'A column changed type; change it back or map a value of the new type.' },
  PG_23505: { errorClass: 'rejected', remediation: 'Another row already holds this unique value; fix the value in the model.' },
  PG_23502: {
    errorClass: 'rejected',
    remediation: 'A NOT NULL column got null; give it a value in the model or relax the column.',
    blocks: true,
  },
  PG_23503: { errorClass: 'needs_change', remediation: 'The referenced row does not exist yet; sync the parent rows first.' },
  PG_23514: { errorClass: 'rejected', remediation: 'The row fails a CHECK constraint; fix the value in the model.', blocks: true },
  PG_22001: {
    errorClass: 'rejected',
    remediation: 'A value is longer than its column allows; shorten it in the model or widen the column.',
    blocks: true,
  },
  PG_22003: {
    errorClass: 'rejected',
    remediation: 'A number is out of range for its column; fix the value or widen the column.',
    blocks: true,
  },
  PG_22P02: {
    errorClass: 'rejected',
    remediation: "A value does not parse as the column's type; fix the value in the model.",
    blocks: true,
  },
} as const satisfies Record<string, CatalogueEntry>;

/** Whole SQLSTATE classes, for codes without their own entry: `PG_CLASS_<first two characters>`. */
const bySqlstateClass = {
  PG_CLASS_22: { errorClass: 'rejected', remediation: 'A value is invalid for its column; fix the value in the model.', blocks: true },
  PG_CLASS_23: { errorClass: 'rejected', remediation: 'The row violates a constraint of the table; fix the value in the model.' },
  PG_CLASS_08: { errorClass: 'transient', remediation: 'The connection to the server failed; the rows are retried.' },
  PG_CLASS_53: {
    errorClass: 'transient',
    remediation: 'The server is out of a resource (connections, memory, disk); the rows are retried.',
  },
  PG_CLASS_28: { errorClass: 'auth', remediation: 'Fix the user or password in the destination url, or allow this client in pg_hba.conf.' },
} as const satisfies Record<string, CatalogueEntry>;

const bySocketErrno = {
  PG_ECONNREFUSED: { errorClass: 'transient', remediation: 'Start the server or fix the host and port in the destination url.' },
  PG_ECONNRESET: { errorClass: 'transient', remediation: 'The server closed the connection; the rows are retried.' },
  PG_ETIMEDOUT: { errorClass: 'transient', remediation: 'The server did not answer in time; check the network path to it.' },
  PG_EPIPE: { errorClass: 'transient', remediation: 'The server closed the connection; the rows are retried.' },
  PG_EHOSTUNREACH: { errorClass: 'transient', remediation: 'The host is unreachable; check the network path to it.' },
  PG_ENETUNREACH: { errorClass: 'transient', remediation: 'The network is unreachable; check the network path to the server.' },
  PG_EAI_AGAIN: { errorClass: 'transient', remediation: 'DNS lookup failed for now; the rows are retried.' },
  PG_ENOTFOUND: { errorClass: 'fatal', remediation: 'The host name does not resolve; fix the host in the destination url.' },
} as const satisfies Record<string, CatalogueEntry>;

/** Errors the connector itself raises or that `pg` raises without a code. */
const ownCodes = {
  PG_CONFIG: { errorClass: 'fatal', remediation: 'Fix the destination or sync settings.' },
  PG_NO_UNIQUE_KEY: {
    errorClass: 'fatal',
    remediation: 'Add a primary key or unique constraint on the key column, which ON CONFLICT needs.',
  },
  PG_NOT_A_TABLE: { errorClass: 'fatal', remediation: 'Point `table` at a table; views and other relations cannot be upserted into.' },
  PG_NO_KEY: {
    errorClass: 'rejected',
    remediation: 'Give every row a non-null external_id; a row never acknowledged with one cannot be deleted by it.',
    blocks: true,
  },
  PG_MISSING_COLUMN: { errorClass: 'fatal', remediation: 'Add the column to the table or remove it from the sync mapping.' },
  PG_CONNECT_TIMEOUT: {
    errorClass: 'transient',
    remediation: 'The server did not accept a connection in time; check that it is up and reachable.',
  },
  PG_CONNECTION_LOST: { errorClass: 'transient', remediation: 'The connection dropped mid-statement; the rows are retried.' },
  PG_UNKNOWN: { errorClass: 'fatal', remediation: 'Unexpected error; see the message and the postgres server log.' },
  NOT_FOUND: { errorClass: 'rejected', remediation: 'No row in the table has this key; in update mode the row must exist first.' },
  PG_OTHER: { errorClass: 'fatal', remediation: 'See the message and the postgres server log.' },
} as const satisfies Record<string, CatalogueEntry>;

export const pgCatalogue = defineCatalogue({ ...bySqlstate, ...bySqlstateClass, ...bySocketErrno, ...ownCodes });

type PgCode = keyof typeof pgCatalogue.entries;

/** The catalogued code a SQLSTATE is classified like: its own entry, else its class's, else `PG_OTHER`. */
function sqlstateLike(sqlstate: string): PgCode {
  const own = `PG_${sqlstate}`;
  if (hasCode(bySqlstate, own)) return own;
  const inClass = `PG_CLASS_${sqlstate.slice(0, 2)}`;
  if (hasCode(bySqlstateClass, inClass)) return inClass;
  return 'PG_OTHER';
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
  const socket = `PG_${code}`;
  if (code && hasCode(bySocketErrno, socket)) return pgCatalogue.failure(socket, message);
  if (code && /^[0-9A-Z]{5}$/.test(code)) return pgCatalogue.passthrough(`PG_${code}`, sqlstateLike(code), message);
  if (/timeout exceeded when trying to connect|connection timeout/i.test(text)) {
    return pgCatalogue.failure('PG_CONNECT_TIMEOUT', message);
  }
  if (/connection terminated/i.test(text)) return pgCatalogue.failure('PG_CONNECTION_LOST', message);
  return code ? pgCatalogue.passthrough(`PG_${code}`, sqlstateLike(code), message) : pgCatalogue.failure('PG_UNKNOWN', message);
}
