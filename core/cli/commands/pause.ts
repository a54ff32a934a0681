/**
 * `pause <sync>` and `resume <sync>`: a paused sync is skipped by `run`, `run --all` and `serve` until
 * it is resumed. Through the service when one holds the DuckDB state.
 */
import { changePause } from '../../run/pause.js';
import { selectSyncs } from '../../run/select-syncs.js';
import { serviceResult } from '../../service/service-client.js';
import { owningService } from '../service-route.js';
import { print, type CliContext } from '../context.js';
import { createReporter } from '../reporter.js';

export async function pauseCommand(
  context: CliContext,
  name: string,
  pause: boolean,
  options: { project?: string; reason?: string },
): Promise<number> {
  const project = await context.project(options);
  const [sync] = selectSyncs(project, [name], false);
  const reason = options.reason ?? 'paused by hand';
  const service = owningService(project);
  const changed = service
    ? (
        await serviceResult<{ changed: boolean }>(
          service,
          'POST',
          `/api/syncs/${encodeURIComponent(sync.name)}/${pause ? 'pause' : 'resume'}`,
          { reason },
        )
      ).changed
    : await changePause({
        project,
        sync,
        pause: pause ? { by: 'person', reason } : null,
        alerts: context.controller.alerts,
        emit: createReporter({ interactive: false }).onEvent,
        now: context.controller.now(),
      });
  if (pause)
    print(
      changed
        ? `${sync.name}: paused; run, run --all and serve skip it until: hightouch-like resume ${sync.name}`
        : `${sync.name}: already paused`,
    );
  else print(changed ? `${sync.name}: resumed; its next run judges its health afresh` : `${sync.name}: not paused`);
  return 0;
}
