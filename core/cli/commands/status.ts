/** `status`: each sync's health, last run, rows synced and rows failing. */
import { syncStatuses, type SyncStatus } from '../../run/status.js';
import { serviceResult } from '../../service/service-client.js';
import { owningService } from '../service-route.js';
import { print, type CliContext } from '../context.js';
import { formatTable } from '../table.js';

export async function statusCommand(context: CliContext, options: { project?: string; json?: boolean }): Promise<number> {
  const project = await context.project(options);
  const service = owningService(project);
  // A running service holds the DuckDB file: it answers, with its own next runs.
  const statuses = service ? await serviceResult<SyncStatus[]>(service, 'GET', '/api/syncs') : await syncStatuses(project);
  if (options.json) print(JSON.stringify(statuses, null, 2));
  else {
    const columns = [
      'sync',
      'last_status',
      'last_finished_at',
      'schedule',
      'next_run_at',
      'synced_rows',
      'failed_rows',
      'health',
      'last_error',
    ];
    print(
      formatTable(
        columns,
        statuses.map((s) => columns.map((c) => s[c as keyof typeof s])),
      ),
    );
  }
  return 0;
}
