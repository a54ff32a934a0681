/**
 * `query`: one read-only query over the state tables, decided by the state database's own parser and
 * run where it can neither write nor reach outside the database.
 *
 * - DuckDB: its own instance on the state file, opened read-only with external access off (no file
 *   reads or writes, no ATTACH, INSTALL or LOAD) and the configuration locked (no SET); DuckDB splits
 *   the text into statements and classifies the one statement, which must be a SELECT.
 * - PostgreSQL: one connection (`state.query_url`, else `state.url`) in a READ ONLY transaction that is
 *   always rolled back, with a statement timeout; the extended protocol refuses several statements,
 *   EXPLAIN refuses what is not a query (COPY, TRUNCATE, BEGIN, DO, …) and its plan shows what
 *   would modify or lock rows. A session that may act as `pg_read_all_data` (a superuser can) runs as
 *   that role, so superuser-only functions (pg_read_file, lo_import, lo_export, …) are refused.
 */
import { duckdbMemoryLimit } from './memory-cap.js';
import { DuckDBInstance, StatementType } from '../db/duckdb-api.js';
import '../db/duckdb-text.js';
import { firstTokenOffset, isBlankSql, leadingKeyword } from '../config/sql-statement.js';
import type { ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { toPlainValue } from '../db/duckdb-values.js';
import { oneStatement, oneStatementAsArrays } from '../db/pg-extended.js';
import { loadPg, stateTypeParsers } from '../db/pg-types.js';
import { DUCKDB_SESSION_SQL, POSTGRES_SESSION_SQL } from '../db/session-settings.js';
import { redactUrl } from '../../shared/redact.js';
import { describeDuckDBOpenError, lineOf } from './state-store.js';

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/** Long enough for any report over the state tables, short enough that a stray join cannot hold locks for long. */
/** A query's time bound on either engine (PostgreSQL: statement_timeout; DuckDB: an interrupt). */
const QUERY_TIMEOUT_MS = Number(process.env.HIGHTOUCH_LIKE_QUERY_TIMEOUT_MS) || 60_000;
const POSTGRES_STATEMENT_TIMEOUT_MS = QUERY_TIMEOUT_MS;

/**
 * Functions that reach outside a read-only transaction even for `pg_read_all_data`: set_config can
 * switch the role back (`session_authorization` for a superuser session) and lift the timeout, and
 * these run SQL text built at run time, which the plan does not show.
 */
const REFUSED_FUNCTIONS = /\b(set_config|\w+_to_xml\w*|ts_stat|ts_rewrite|dblink\w*|lo_\w+)\s*\(/i;

function refused(got: string): UserError {
  return new UserError(`only one read-only query is allowed (got ${got}).`, {
    field: 'query',
    hint: 'write one SELECT, WITH … SELECT or VALUES over the state tables; see "What query allows" in README.md.',
  });
}

function sqlError(error: unknown): UserError {
  // DuckDB wraps parser errors in "Failed to extract statements: "; the parser's own words are the news.
  const message = oneLine((error as Error).message).replace(/^Failed to extract statements: /, '');
  return new UserError(`SQL error: ${message}`, {
    hint: 'query reads the state tables only, documented in README.md.',
  });
}

export async function queryState(project: ProjectConfig, text: string): Promise<QueryResult> {
  if (isBlankSql(text)) throw refused('no statement');
  return project.state.type === 'duckdb' ? queryDuckDB(project, project.state.path, text) : queryPostgres(project, text);
}

async function queryDuckDB(project: ProjectConfig, path: string, text: string): Promise<QueryResult> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      // DuckDB's default is 80% of the machine: one careless cross join would starve every sync.
      // The planner's cap (core/state/memory-cap.ts): a report is a query as large as a diff.
      memory_limit: duckdbMemoryLimit('plan'),
    });
  } catch (error) {
    throw describeDuckDBOpenError(error, path, { file: project.file, line: lineOf(project, 'state.path'), field: 'state.path' }, true);
  }
  const connection = await instance.connect();
  try {
    // The zone first (timestamps render in UTC), then the lock: after it no SET runs, not even ours.
    await connection.run(DUCKDB_SESSION_SQL);
    await connection.run('set lock_configuration = true');
    let statements;
    try {
      statements = await connection.extractStatements(text);
    } catch (error) {
      throw sqlError(error);
    }
    if (statements.count !== 1) throw refused(`${statements.count} statements`);
    let prepared;
    try {
      prepared = await statements.prepare(0);
    } catch (error) {
      throw sqlError(error);
    }
    try {
      if (prepared.statementType !== StatementType.SELECT)
        throw refused((StatementType[prepared.statementType] ?? leadingKeyword(text)).replace(/_/g, ' '));
      let reader;
      // The same bound as PostgreSQL's statement_timeout: the query holds the state file's lock meanwhile.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        connection.interrupt();
      }, QUERY_TIMEOUT_MS);
      try {
        reader = await prepared.runAndReadAll();
      } catch (error) {
        if (timedOut)
          throw new UserError(`the query ran past ${QUERY_TIMEOUT_MS / 1000} s and was stopped.`, {
            field: 'query',
            hint: 'narrow it (a where clause, a limit).',
          });
        throw sqlError(error);
      } finally {
        clearTimeout(timer);
      }
      return { columns: reader.columnNames(), rows: reader.getRows().map((row) => row.map(toPlainValue)) };
    } finally {
      prepared.destroySync();
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function queryPostgres(project: ProjectConfig, text: string): Promise<QueryResult> {
  const state = project.state as { url: string; query_url?: string };
  const field = state.query_url === undefined ? 'state.url' : 'state.query_url';
  const url = state.query_url ?? state.url;
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, types: stateTypeParsers(pg) });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new UserError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${oneLine((error as Error).message)}`, {
      file: project.file,
      line: lineOf(project, field),
      field,
      hint: 'start the server or fix the URL.',
    });
  }
  try {
    await client.query(POSTGRES_SESSION_SQL);
    await client.query('begin transaction read only');
    await client.query(`set local statement_timeout = ${POSTGRES_STATEMENT_TIMEOUT_MS}`);
    // The schema the state tables live in (the first on the search path when nothing has run yet).
    const home = await client.query(
      `select coalesce((select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.oid = to_regclass('sync_runs')), current_schema()) as schema`,
    );
    const stateSchema: string = home.rows[0].schema;
    const member = await client.query(`select pg_has_role(session_user, 'pg_read_all_data', 'member') as yes`);
    if (member.rows[0].yes) await client.query('set local role pg_read_all_data');

    const explain = 'explain (format json, verbose) ';
    let plan: string;
    try {
      const result = await client.query(oneStatement(`${explain}${text}`));
      plan = JSON.stringify(result.rows[0]['QUERY PLAN']);
    } catch (error) {
      const { code, position } = error as { code?: string; position?: string };
      // 42601 without a position: the protocol refusing several commands; at the first word: the
      // grammar refusing a statement EXPLAIN does not take.
      if (code === '42601' && position === undefined) throw refused('several statements');
      if (code === '42601' && Number(position) - 1 - explain.length === firstTokenOffset(text)) throw refused(leadingKeyword(text));
      throw sqlError(error);
    }
    if (/"Node Type":"ModifyTable"/.test(plan)) throw refused('a statement that modifies rows');
    if (/"Node Type":"LockRows"/.test(plan)) throw refused('a query that locks rows: FOR UPDATE/SHARE');
    const call = REFUSED_FUNCTIONS.exec(plan);
    if (call) throw refused(`a call to ${call[1]}`);
    // pg_read_all_data reads every table of the database, the catalog's pg_authid (password hashes)
    // included: a query may scan the state tables' own schema and nothing else.
    for (const scan of plan.matchAll(/"Relation Name":"((?:[^"\\]|\\.)*)","Schema":"((?:[^"\\]|\\.)*)"/g)) {
      if (JSON.parse(`"${scan[2]}"`) !== stateSchema)
        throw refused(`a read of ${JSON.parse(`"${scan[2]}"`)}.${JSON.parse(`"${scan[1]}"`)}, outside the state tables`);
    }

    let result;
    try {
      result = await client.query(oneStatementAsArrays(text));
    } catch (error) {
      // 25006: what EXPLAIN takes but a read-only transaction refuses (CREATE TABLE AS, SELECT INTO).
      if ((error as { code?: string }).code === '25006') throw refused(leadingKeyword(text));
      throw sqlError(error);
    }
    // DECLARE is explainable too; it returns no rows and is not a query.
    if (result.command !== 'SELECT') throw refused(result.command ?? leadingKeyword(text));
    return { columns: result.fields.map((f) => f.name), rows: result.rows };
  } finally {
    await client.query('rollback').catch(() => {});
    await client.end().catch(() => {});
  }
}
