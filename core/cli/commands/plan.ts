/** `plan`: a dry run; counts of what a run would send, nothing sent. Exits 0 whatever the plan. */
import { print, type CliContext } from '../context.js';
import { formatSummary } from '../reporter.js';
import { runFromTerminal, type TerminalRunOptions } from '../terminal-run.js';

export async function planCommand(context: CliContext, names: string[], options: TerminalRunOptions): Promise<number> {
  const { reports } = await runFromTerminal(context, names, options, true);
  if (options.json) print(JSON.stringify(reports.map(({ sync, plan, delete_guard }) => ({ sync, ...plan, delete_guard })), null, 2));
  else reports.forEach((r) => print(formatSummary(r)));
  return 0;
}
