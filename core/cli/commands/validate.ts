/** `validate`: the project loads, its models plan in the warehouse, destinations and state store answer. */
import { checkStateStore } from '../../state/check-state-store.js';
import { preflight } from '../../plan/preflight.js';
import { print, type CliContext } from '../context.js';

export async function validateCommand(context: CliContext, options: { project?: string }): Promise<number> {
  const p = await context.project(options);
  await preflight(p, Object.values(p.syncs));
  await checkStateStore(p);
  print(
    `ok: ${Object.keys(p.models).length} models, ${Object.keys(p.syncs).length} syncs, ${Object.keys(p.destinations).length} destinations`,
  );
  return 0;
}
