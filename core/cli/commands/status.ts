/** `status`: each sync's last run, rows synced and rows failing. */
import { syncStatuses } from '../../run/status.js';
import { print, type CliContext } from '../context.js';
import { formatTable } from '../table.js';

export async function statusCommand(context: CliContext, options: { project?: string; json?: boolean }): Promise<number> {
  const statuses = await syncStatuses(await context.project(options));
  if (options.json) print(JSON.stringify(statuses, null, 2));
  else {
    const columns = ['sync', 'last_status', 'last_finished_at', 'schedule', 'next_run_at', 'synced_rows', 'failed_rows', 'last_error'];
    print(formatTable(columns, statuses.map((s) => columns.map((c) => s[c as keyof typeof s]))));
  }
  return 0;
}
