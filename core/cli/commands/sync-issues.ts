/**
 * `sync-issues [<sync…>]`: the failed-row index per sync and error code (named so because the project's
 * own tooling already has an `issues` command). Reads the state only.
 */
import { syncIssues } from '../../run/sync-issues.js';
import { serviceHoldsState } from './rows.js';
import { print, type CliContext } from '../context.js';
import { formatTable } from '../table.js';

export async function syncIssuesCommand(
  context: CliContext,
  names: string[],
  options: { project?: string; json?: boolean },
): Promise<number> {
  const project = await context.project(options);
  serviceHoldsState(project, 'sync-issues');
  const issues = await syncIssues(project, names);
  if (options.json) print(JSON.stringify(issues, null, 2));
  else {
    const columns = [
      'sync',
      'error_code',
      'error_class',
      'rows',
      'blocked',
      'timeout_queue',
      'first_seen',
      'last_seen',
      'sample_keys',
      'run_count',
      'remediation',
    ];
    print(
      formatTable(
        columns,
        issues.map((i) => columns.map((c) => (c === 'sample_keys' ? i.sample_keys.join(', ') : i[c as keyof typeof i]))),
      ),
    );
  }
  return 0;
}
