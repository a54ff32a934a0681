/** `rows <sync> --status S`: the sync's model rows in one state (see core/run/row-status.ts). */
import { UserError } from '../../../shared/errors.js';
import type { ProjectConfig } from '../../config/types.js';
import { ROW_STATUSES, rowsByStatus, type RowStatusFilter } from '../../run/row-status.js';
import { print, type CliContext } from '../context.js';
import { owningService } from '../service-route.js';
import { formatTable } from '../table.js';

/** These commands read the state file, which a running service holds (DuckDB): say so in one line. */
export function serviceHoldsState(project: ProjectConfig, command: string) {
  const service = owningService(project);
  if (!service) return;
  throw new UserError(`the service (pid ${service.pid}, port ${service.port}) holds the DuckDB state file, which ${command} needs`, {
    field: command,
    hint: 'stop the service first, or use query (POST /api/query), which goes through it.',
  });
}

export async function rowsCommand(
  context: CliContext,
  syncName: string,
  options: { project?: string; status?: string; limit?: string; json?: boolean },
): Promise<number> {
  const project = await context.project(options);
  if (options.status === undefined || !ROW_STATUSES.includes(options.status as RowStatusFilter)) {
    throw new UserError(options.status === undefined ? 'needs --status.' : `"${options.status}" is not a row status.`, {
      field: 'rows --status',
      hint: `use one of ${ROW_STATUSES.join(', ')}.`,
    });
  }
  const limit = options.limit === undefined ? 1000 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UserError(`"${options.limit}" is not a positive whole number.`, { field: 'rows --limit', hint: 'e.g. --limit 100.' });
  }
  serviceHoldsState(project, 'rows');
  const rows = await rowsByStatus(project, syncName, options.status as RowStatusFilter, { limit });
  if (options.json) print(JSON.stringify(rows, null, 2));
  else {
    const columns = ['primary_key', 'status', 'error_code', 'error_message', 'attempts', 'next_retry_at'] as const;
    print(
      formatTable(
        [...columns],
        rows.map((r) => columns.map((c) => r[c])),
      ),
    );
  }
  return 0;
}
