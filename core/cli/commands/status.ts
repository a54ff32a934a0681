/** `status`: each sync's health, last run, rows synced and rows failing. */
import { syncStatuses, type SyncStatus } from '../../run/status.js';
import { extractStatuses, type ExtractStatus } from '../../extract/extract-status.js';
import { serviceResult } from '../../service/service-client.js';
import { owningService } from '../service-route.js';
import { print, type CliContext } from '../context.js';
import { formatTable } from '../table.js';

/** The API budget in words: usage, retries held back and why, rows deferred and until when. */
function budgetNotes(s: SyncStatus): string[] {
  const notes: string[] = [];
  const u = s.api_usage;
  if (u) notes.push(`API usage ${u.used}/${u.limit ?? '?'} (remaining ${u.remaining ?? 'unknown'}, seen ${u.observed_at})`);
  if (s.retries_held > 0) notes.push(`${s.retries_held} failed-row retries held back: ${s.retries_held_reason}`);
  if (s.rows_deferred > 0) notes.push(`${s.rows_deferred} rows deferred by the API budget`);
  if (s.budget_exhausted_until) notes.push(`daily quota spent: nothing is sent before ${s.budget_exhausted_until}`);
  return notes;
}

export async function statusCommand(
  context: CliContext,
  options: { project?: string; json?: boolean; extracts?: boolean },
): Promise<number> {
  const project = await context.project(options);
  const service = owningService(project);
  const extracts =
    Object.keys(project.extracts).length === 0
      ? []
      : service
        ? await serviceResult<ExtractStatus[]>(service, 'GET', '/api/extracts')
        : await extractStatuses(project);
  if (options.json && options.extracts) {
    print(JSON.stringify(extracts, null, 2));
    return 0;
  }
  // A running service holds the DuckDB file: it answers, with its own next runs.
  const statuses = service ? await serviceResult<SyncStatus[]>(service, 'GET', '/api/syncs') : await syncStatuses(project);
  if (options.json) print(JSON.stringify(statuses, null, 2));
  else {
    const columns = [
      'sync',
      'last_status',
      'last_finished_at',
      'schedule',
      'next_run_at',
      'synced_rows',
      'failed_rows',
      'health',
      'last_error',
    ];
    print(
      formatTable(
        columns,
        statuses.map((s) => columns.map((c) => s[c as keyof typeof s])),
      ),
    );
    for (const s of statuses) {
      const notes = budgetNotes(s);
      if (notes.length > 0) print(`${s.sync}: ${notes.join('; ')}`);
    }
    if (extracts.length > 0) {
      const extractColumns = [
        'extract',
        'last_status',
        'last_finished_at',
        'schedule',
        'next_run_at',
        'rows_read',
        'rows_deleted',
        'cursor',
        'health',
        'last_error',
      ];
      print('');
      print(
        formatTable(
          extractColumns,
          extracts.map((e) => extractColumns.map((c) => e[c as keyof typeof e] as unknown)),
        ),
      );
      for (const e of extracts)
        if (e.dropped_fields.length > 0) print(`${e.extract}: fields dropped by healing: ${e.dropped_fields.join(', ')}`);
    }
  }
  return 0;
}
