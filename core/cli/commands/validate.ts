/** `validate`: the project loads, its models plan in the warehouse, destinations and state store answer. */
import { checkStateStore } from '../../state/check-state-store.js';
import { preflight } from '../../plan/preflight.js';
import { print, type CliContext } from '../context.js';

export async function validateCommand(context: CliContext, options: { project?: string }): Promise<number> {
  const p = await context.project(options);
  const warnings = await preflight(p, Object.values(p.syncs));
  // Not errors: the sync runs, and the rows whose values do not fit fail alone.
  for (const warning of warnings) process.stderr.write(`warning: ${warning.format()}\n`);
  await checkStateStore(p);
  print(
    `ok: ${Object.keys(p.models).length} models, ${Object.keys(p.syncs).length} syncs, ${Object.keys(p.destinations).length} destinations`,
  );
  return 0;
}
