/**
 * `retry <sync>`: clears the wait or block of the chosen failed rows (`--key`, `--error-code`,
 * `--status`; all of them when none is given) and runs the sync now, sending them with their latest
 * values; `--dry-run` lists them. Exit codes as `run`'s; 0 when no row matches (nothing is run).
 */
import { retryFailedRows, type RetryCandidate } from '../../run/manual-retry.js';
import type { FailedRowStatus } from '../../state/schema.js';
import { print, type CliContext } from '../context.js';
import { createReporter, formatSummary } from '../reporter.js';
import { serviceHoldsState } from './rows.js';
import { formatTable } from '../table.js';

export interface RetryOptions {
  project?: string;
  key?: string[];
  errorCode?: string;
  status?: string;
  dryRun?: boolean;
  json?: boolean;
}

const EXIT_CODES: Record<string, number> = { succeeded: 0, completed_with_errors: 2, failed: 1, cancelled: 1, deferred: 3 };

export async function retryCommand(context: CliContext, syncName: string, options: RetryOptions): Promise<number> {
  const project = await context.project(options);
  serviceHoldsState(project, 'retry');
  const reporter = createReporter({ interactive: !options.json && !!process.stderr.isTTY });
  let result;
  try {
    result = await retryFailedRows(
      context.controller,
      project,
      syncName,
      { keys: options.key, errorCode: options.errorCode, status: options.status as FailedRowStatus | undefined },
      { dryRun: !!options.dryRun, onEvent: reporter.onEvent },
    );
  } finally {
    reporter.stop();
  }
  const { rows, run } = result;
  if (options.json) print(JSON.stringify({ sync: syncName, rows, reports: run?.reports ?? [] }, null, 2));
  else {
    print(listing(rows));
    if (!options.dryRun && rows.length === 0) print(`${syncName}: no failed row matches; nothing was run`);
    run?.reports.forEach((r) => print(formatSummary(r)));
  }
  return run ? EXIT_CODES[run.status] : 0;
}

function listing(rows: RetryCandidate[]): string {
  const columns = ['primary_key', 'status', 'error_code', 'attempts', 'next_retry_at'] as const;
  return formatTable(
    [...columns],
    rows.map((r) => columns.map((c) => r[c])),
  );
}
