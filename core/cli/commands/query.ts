/** `query`: one read-only query over the state tables, as a table, JSON or CSV. */
import { existsSync } from 'node:fs';
import { isBlankSql } from '../../config/sql-statement.js';
import { queryState, type QueryResult } from '../../state/state-query.js';
import { serviceResult } from '../../service/service-client.js';
import { owningService } from '../service-route.js';
import { UserError } from '../../../shared/errors.js';
import { print, type CliContext } from '../context.js';
import { formatCsv, formatTable } from '../table.js';

export async function queryCommand(
  context: CliContext,
  text: string,
  options: { project?: string; json?: boolean; csv?: boolean },
): Promise<number> {
  const p = await context.project(options);
  // DuckDB answers an empty query with no columns; that hides a mistake. Everything else about the text
  // (one statement, a query) is the state store's own parser's call, in queryState.
  if (isBlankSql(text)) throw new UserError('the query is empty.', { hint: 'write one SQL statement, e.g. "select * from sync_runs".' });
  const service = owningService(p);
  if (service === null && p.state.type === 'duckdb' && !existsSync(p.state.path)) {
    throw new UserError('no state yet: nothing has run in this project', { file: p.file, field: 'state', hint: 'run a sync first.' });
  }
  // A running service holds the DuckDB file: it runs the query the same sandboxed way.
  const result = service ? await serviceResult<QueryResult>(service, 'POST', '/api/query', { sql: text }) : await queryState(p, text);
  if (options.json)
    print(
      JSON.stringify(
        result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]]))),
        null,
        2,
      ),
    );
  else if (options.csv) process.stdout.write(formatCsv(result.columns, result.rows));
  else process.stdout.write(formatTable(result.columns, result.rows));
  return 0;
}
