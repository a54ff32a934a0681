/**
 * `plan`: a dry run; counts of what a run would send, nothing sent. Exits 0 whatever the plans, 1 when a
 * sync could not be planned (its preflight failed; the other syncs are still planned).
 */
import { UserError } from '../../../shared/errors.js';
import { print, type CliContext } from '../context.js';
import { owningService } from '../service-route.js';
import { formatSummary } from '../reporter.js';
import { runFromTerminal, type TerminalRunOptions } from '../terminal-run.js';

export async function planCommand(context: CliContext, names: string[], options: TerminalRunOptions): Promise<number> {
  const service = owningService(await context.project(options));
  if (service) {
    // Planning needs the state file, which the service holds; a plan is also stale once the service runs.
    throw new UserError(`the service (pid ${service.pid}, port ${service.port}) holds the DuckDB state file, which plan needs`, {
      field: 'plan',
      hint: 'stop the service to plan, or use status and query, which go through it.',
    });
  }
  const { reports } = await runFromTerminal(context, names, options, true);
  const failed = reports.filter((r) => r.status === 'failed');
  if (options.json) {
    print(
      JSON.stringify(
        reports.map(({ sync, status, error, plan, delete_guard }) =>
          status === 'failed' ? { sync, status, error } : { sync, ...plan, delete_guard },
        ),
        null,
        2,
      ),
    );
  } else {
    reports.forEach((r) => print(r.status === 'failed' ? `${r.sync}: failed — ${r.error}` : formatSummary(r)));
  }
  // A plan logs no event for a sync it could not plan: this line is its trace on stderr, in the one-line
  // form of bad input (`error: file:line: field: problem. fix`); stdout names the sync.
  for (const r of failed) process.stderr.write(`error: ${r.error}\n`);
  return failed.length ? 1 : 0;
}
