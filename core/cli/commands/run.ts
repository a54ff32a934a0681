/**
 * `run`: syncs changes. Exit codes: 0 every row synced; 2 the run completed but some rows were rejected
 * or invalid; 1 the run could not complete (a sync failed, its preflight included, or was cancelled); 3 the
 * destination's API budget deferred rows to a later run (nothing was rejected for it).
 * Syncs are isolated: one that fails is reported and recorded, and the others still run.
 */
import type { RunOutcome } from '../../run/controller.js';
import { selectSyncs } from '../../run/select-syncs.js';
import { serviceResult } from '../../service/service-client.js';
import type { ServiceFile } from '../../service/service-file.js';
import { UserError } from '../../../shared/errors.js';
import { owningService } from '../service-route.js';
import { print, type CliContext } from '../context.js';
import { formatSummary } from '../reporter.js';
import { runFromTerminal, type TerminalRunOptions } from '../terminal-run.js';

const EXIT_CODES: Record<RunOutcome, number> = { planned: 0, succeeded: 0, completed_with_errors: 2, failed: 1, cancelled: 1, deferred: 3 };

export async function runCommand(context: CliContext, names: string[], options: TerminalRunOptions): Promise<number> {
  const project = await context.project(options);
  const service = owningService(project);
  if (service)
    return triggerInService(
      service,
      selectSyncs(project, names, !!options.all).map((s) => s.name),
      options,
    );
  const { status, reports } = await runFromTerminal(context, names, options, false);
  if (options.json) print(JSON.stringify(reports, null, 2));
  else reports.forEach((r) => print(formatSummary(r)));
  for (const r of reports) {
    if (r.status === 'failed' && r.delete_guard?.stops && !options.allowDeletes)
      process.stderr.write(`error: sync ${r.sync}: ${r.error}\n`);
  }
  return EXIT_CODES[status];
}

/**
 * A service holds the DuckDB state: each sync becomes a manual trigger of its scheduler, and `run` exits
 * 0 once they are accepted, without waiting (`status` or GET /api/runs show the outcome). A trigger
 * carries no options, so `--full-resync` and `--allow-deletes` are refused.
 */
async function triggerInService(service: ServiceFile, syncs: string[], options: TerminalRunOptions): Promise<number> {
  const flag = options.fullResync ? '--full-resync' : options.allowDeletes ? '--allow-deletes' : null;
  if (flag) {
    throw new UserError(`${flag} cannot go through the running service (pid ${service.pid}), which holds the DuckDB state`, {
      field: 'run',
      hint: 'stop the service, run with the flag, then start it again.',
    });
  }
  const outcomes: { sync: string; outcome: string }[] = [];
  for (const sync of syncs) outcomes.push(await serviceResult(service, 'POST', `/api/syncs/${encodeURIComponent(sync)}/trigger`));
  if (options.json) print(JSON.stringify(outcomes, null, 2));
  else
    for (const { sync, outcome } of outcomes)
      print(`${sync}: ${outcome} by the service (pid ${service.pid}, port ${service.port}); see status for its result`);
  return 0;
}
