/**
 * A run started from the command line (`plan`, `run`): the project of `--project`, events shown on
 * stderr, and signals turned into a cancel. First SIGINT/SIGTERM: finish in-flight batches, commit,
 * stop. Second: leave at once, exit 130 (nothing is lost either way).
 */
import type { RunResult } from '../run/controller.js';
import type { CliContext } from './context.js';
import { createReporter } from './reporter.js';

export interface TerminalRunOptions {
  project?: string;
  all?: boolean;
  fullResync?: boolean;
  allowDeletes?: boolean;
  json?: boolean;
}

export async function runFromTerminal(
  context: CliContext,
  names: string[],
  options: TerminalRunOptions,
  dryRun: boolean,
): Promise<RunResult> {
  const project = await context.project(options);
  const reporter = createReporter({ interactive: !options.json && !!process.stderr.isTTY });
  const run = context.controller.start(project, {
    syncs: names,
    all: !!options.all,
    fullResync: options.fullResync,
    allowDeletes: options.allowDeletes,
    dryRun,
    onEvent: reporter.onEvent,
  });
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    run.cancel();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run.result;
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
