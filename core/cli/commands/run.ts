/**
 * `run`: syncs changes. Exit codes: 0 every row synced; 2 the run completed but some rows were rejected
 * or invalid; 1 the run could not complete (a sync failed, its preflight included, or was cancelled).
 * Syncs are isolated: one that fails is reported and recorded, and the others still run.
 */
import type { RunOutcome } from '../../run/controller.js';
import { print, type CliContext } from '../context.js';
import { formatSummary } from '../reporter.js';
import { runFromTerminal, type TerminalRunOptions } from '../terminal-run.js';

const EXIT_CODES: Record<RunOutcome, number> = { planned: 0, succeeded: 0, completed_with_errors: 2, failed: 1, cancelled: 1 };

export async function runCommand(context: CliContext, names: string[], options: TerminalRunOptions): Promise<number> {
  const { status, reports } = await runFromTerminal(context, names, options, false);
  if (options.json) print(JSON.stringify(reports, null, 2));
  else reports.forEach((r) => print(formatSummary(r)));
  for (const r of reports) {
    if (r.status === 'failed' && r.delete_guard?.stops && !options.allowDeletes) process.stderr.write(`error: sync ${r.sync}: ${r.error}\n`);
  }
  return EXIT_CODES[status];
}
