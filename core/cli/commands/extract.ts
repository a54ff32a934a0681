/**
 * `extract <name…> | --all`: lands each extract's changes (README "Extracts"). Exit codes: 0 every
 * extract succeeded (or was skipped as paused); 1 one failed or was paused by healing; 3 one stopped at
 * `max_calls_per_run` and reads on next run. `resume-extract <name>` lets a paused extract run again.
 * While `serve` holds the DuckDB state, both go through its API, as `run` and `resume` do.
 */
import type { ProjectConfig } from '../../config/types.js';
import { runExtracts, type ExtractReport } from '../../extract/run-extract.js';
import { resumeExtract } from '../../extract/extract-status.js';
import { serviceResult } from '../../service/service-client.js';
import { UserError } from '../../../shared/errors.js';
import { owningService } from '../service-route.js';
import { print, type CliContext } from '../context.js';

export function selectExtracts(project: ProjectConfig, names: string[], all: boolean): string[] {
  const known = Object.keys(project.extracts);
  if (all) return known;
  if (names.length === 0) {
    throw new UserError('name the extracts to run, or pass --all.', {
      field: 'extract',
      hint: `defined extracts: ${known.join(', ') || 'none yet (add extracts/<name>.yaml)'}.`,
    });
  }
  for (const name of names) {
    if (!Object.hasOwn(project.extracts, name)) {
      throw new UserError(`extract "${name}" not found.`, {
        field: 'extract',
        hint: `create extracts/${name}.yaml, or use one of: ${known.join(', ') || 'none yet'}.`,
      });
    }
  }
  return names;
}

export function formatExtract(r: ExtractReport): string {
  if (r.status === 'skipped') return `${r.extract}: skipped, ${r.error}`;
  const parts = [
    r.status,
    r.full_load ? 'full load' : 'incremental',
    r.api ?? 'no read',
    `${r.rows_read} read`,
    `${r.rows_deleted} deleted`,
    `${r.api_calls} API calls`,
    `cursor ${r.cursor_to ?? 'none'}`,
  ];
  if (r.dropped_fields.length > 0) parts.push(`dropped fields: ${r.dropped_fields.join(', ')}`);
  const events = r.events.map((e) => `  ${e.kind}: ${e.reason}`);
  return [`${r.extract}: ${parts.join(', ')}${r.error ? `: ${r.error}` : ''}`, ...events].join('\n');
}

const EXIT: Record<ExtractReport['status'], number> = { succeeded: 0, skipped: 0, failed: 1, paused: 1, deferred: 3 };

export async function extractCommand(
  context: CliContext,
  names: string[],
  options: { project?: string; all?: boolean; json?: boolean },
): Promise<number> {
  const project = await context.project(options);
  const selected = selectExtracts(project, names, !!options.all);
  const service = owningService(project);
  if (service) {
    const outcomes: unknown[] = [];
    for (const name of selected) outcomes.push(await serviceResult(service, 'POST', `/api/extracts/${encodeURIComponent(name)}/trigger`));
    if (options.json) print(JSON.stringify(outcomes, null, 2));
    else
      for (const name of selected)
        print(`${name}: started by the service (pid ${service.pid}, port ${service.port}); see status for its result`);
    return 0;
  }
  const reports = await runExtracts(
    {
      project,
      now: () => context.controller.now(),
      alerts: context.controller.alerts,
      emit: (event) => process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`),
    },
    selected,
  );
  if (options.json) print(JSON.stringify(reports, null, 2));
  else for (const r of reports) print(formatExtract(r));
  return Math.max(0, ...reports.map((r) => EXIT[r.status]));
}

export async function resumeExtractCommand(context: CliContext, name: string, options: { project?: string }): Promise<number> {
  const project = await context.project(options);
  const [selected] = selectExtracts(project, [name], false);
  const service = owningService(project);
  const changed = service
    ? (await serviceResult<{ changed: boolean }>(service, 'POST', `/api/extracts/${encodeURIComponent(selected)}/resume`)).changed
    : await resumeExtract(project, selected, context.controller.now());
  print(changed ? `${selected}: resumed; its next run reads from the committed cursor` : `${selected}: not paused`);
  return 0;
}
