/**
 * The `hightouch-like` command: the verbs and flags, each dispatched to its file under commands/.
 * Exit codes: 0 every row synced; 2 the run completed but some rows were rejected or invalid; 1 the run
 * could not complete or the input was invalid.
 */
import { Command, CommanderError } from 'commander';
import { maskable, redact } from '../../shared/redact.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { createContext, type CliContext } from './context.js';
import { extractCommand, resumeExtractCommand } from './commands/extract.js';
import { pauseCommand } from './commands/pause.js';
import { planCommand } from './commands/plan.js';
import { queryCommand } from './commands/query.js';
import { runCommand } from './commands/run.js';
import { retryCommand } from './commands/retry.js';
import { rowsCommand } from './commands/rows.js';
import { syncIssuesCommand } from './commands/sync-issues.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';

// `serve` and `emulate` are loaded when called: their HTTP server, job queue, metrics and emulator
// cost every other CLI call about a fifth of its start-up.
export function buildProgram(context: CliContext): Command {
  /** Wraps an action so its returned exit code reaches `main`. */
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      context.exitCode = await fn(...args);
    };

  const program = new Command('hightouch-like')
    .description('Sync SQL models to destinations: only changes, nothing lost.')
    .option('-p, --project <dir>', 'project folder (default: the current folder)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('validate')
    .description('check the project: YAML, models against the warehouse, destinations reachable')
    .action(act(async () => validateCommand(context, program.opts())));

  program
    .command('plan')
    .description('dry run: counts of rows to add, change, remove, retry; nothing is sent')
    .argument('[syncs...]')
    .option('--all', 'every sync of the project')
    .option('--full-resync', 'plan as if nothing had been synced')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => planCommand(context, names, { ...program.opts(), ...opts })));

  program
    .command('run')
    .description('sync changes to the destination')
    .argument('[syncs...]')
    .option('--all', 'every sync of the project')
    .option('--full-resync', 're-send every row, not only changes')
    .option('--allow-deletes', 'let mirror runs through the delete guard this once')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => runCommand(context, names, { ...program.opts(), ...opts })));

  program
    .command('extract')
    .description('land the changes of Salesforce objects in the warehouse (extracts/<name>.yaml)')
    .argument('[extracts...]')
    .option('--all', 'every extract of the project')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => extractCommand(context, names, { ...program.opts(), ...opts })));

  program
    .command('resume-extract')
    .description('let an extract that healing paused run again')
    .argument('<extract>')
    .action(act(async (name: string, opts) => resumeExtractCommand(context, name, { ...program.opts(), ...opts })));

  program
    .command('retry')
    .description('clear the wait or block of failed rows and run the sync now; all failed rows unless chosen')
    .argument('<sync>')
    .option('--key <keys...>', 'primary keys of the rows')
    .option('--error-code <code>', 'rows failing with this error code')
    .option('--status <status>', 'rows in this state: retrying, blocked or timeout_queue')
    .option('--dry-run', 'list the rows, change nothing, send nothing')
    .option('--json', 'machine-readable output')
    .action(act(async (name: string, opts) => retryCommand(context, name, { ...program.opts(), ...opts })));

  program
    .command('sync-issues')
    .description('failing rows per sync and error code: class, rows, first and last seen, sample keys, remediation, runs')
    .argument('[syncs...]')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => syncIssuesCommand(context, names, { ...program.opts(), ...opts })));

  program
    .command('rows')
    .description("a sync's model rows in one state: synced, pending, retrying, blocked, timeout_queue, invalid, not_synced")
    .argument('<sync>')
    .option('--status <status>', 'synced, pending, retrying, blocked, timeout_queue, invalid or not_synced')
    .option('--limit <n>', 'rows listed at most, in key order (default 1000)')
    .option('--json', 'machine-readable output')
    .action(act(async (name: string, opts) => rowsCommand(context, name, { ...program.opts(), ...opts })));

  program
    .command('status')
    .description('health, last run, synced rows and failing rows of each sync; then each extract')
    .option('--json', 'machine-readable output')
    .option('--extracts', 'with --json: the extracts instead of the syncs')
    .action(act(async (opts) => statusCommand(context, { ...program.opts(), ...opts })));

  program
    .command('pause')
    .description('stop running a sync (run, run --all and serve skip it) until resume')
    .argument('<sync>')
    .option('--reason <text>', 'why, kept in the health row and its event')
    .action(act(async (name: string, opts) => pauseCommand(context, name, true, { ...program.opts(), ...opts })));

  program
    .command('resume')
    .description('let a paused sync run again')
    .argument('<sync>')
    .action(act(async (name: string, opts) => pauseCommand(context, name, false, { ...program.opts(), ...opts })));

  program
    .command('query')
    .description('one read-only query over the state tables (sync_runs, failed_rows, sync_changelog, …)')
    .argument('<sql>')
    .option('--json', 'rows as JSON objects')
    .option('--csv', 'rows as CSV')
    .action(act(async (text: string, opts) => queryCommand(context, text, { ...program.opts(), ...opts })));

  program
    .command('serve')
    .description('run every sync on its schedule, with an HTTP API on loopback, until SIGTERM')
    .option('--port <port>', 'TCP port of the API (default: service.port, else 7345; 0 picks a free one)')
    .option('--host <host>', 'loopback address to listen on (default: service.host, else 127.0.0.1)')
    .action(act(async (opts) => (await import('./commands/serve.js')).serveCommand(context, { ...program.opts(), ...opts })));

  program
    .command('emulate')
    .description('start the loopback Salesforce emulator, to develop syncs with no org, until SIGTERM')
    .argument('<system>', 'salesforce')
    .option('--port <port>', 'TCP port (default 8787; 0 picks a free one)')
    .option('--host <host>', 'loopback address (default 127.0.0.1)')
    .option('--seed <seed>', 'demo: Contact, Account (3 records) and a typed custom object Lead__c')
    .action(act(async (system: string, opts) => (await import('./commands/emulate.js')).emulateCommand(system, opts)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const context = createContext();
  try {
    await buildProgram(context).parseAsync(argv);
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    const secrets = maskable(context.secrets);
    if (error instanceof UserError) {
      process.stderr.write(`error: ${redact(error.format(), secrets)}\n`);
      return 1;
    }
    process.stderr.write(`error: ${redact(oneLine((error as Error)?.message ?? String(error)), secrets)}\n`);
    if (process.env.HIGHTOUCH_LIKE_DEBUG) process.stderr.write(`${redact(String((error as Error)?.stack), secrets)}\n`);
    return 1;
  } finally {
    await context.controller.close();
  }
}
