/**
 * The `hightouch-like` command. Exit codes: 0 every row synced; 2 the run completed but some rows were
 * rejected or invalid; 1 the run could not complete or the input was invalid.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { loadProject } from '../config/load-project.js';
import { isBlankSql } from '../config/sql-statement.js';
import type { ProjectConfig, SyncConfig } from '../config/types.js';
import { checkStateStore } from '../state/check-state-store.js';
import { maskable, redact } from '../../shared/redact.js';
import { queryState } from '../state/state-query.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { preflight } from '../plan/preflight.js';
import { runSyncs, type SyncReport } from '../run/run-sync.js';
import { syncStatuses } from '../run/status.js';
import { createReporter, formatSummary } from './reporter.js';
import { formatCsv, formatTable } from './table.js';

/** Environment values read so far, filled while the project loads: an error thrown half-way is masked too. */
const secrets = new Set<string>();
/** Set by the command that ran; commander does not return an action's result. */
let exitCode = 0;

/** Wraps an action so its returned exit code reaches `main`. */
function act<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    exitCode = await fn(...args);
  };
}

async function project(options: { project?: string }): Promise<ProjectConfig> {
  return loadProject(resolve(options.project ?? process.cwd()), process.env, secrets);
}

function pickSyncs(p: ProjectConfig, names: string[], all: boolean): SyncConfig[] {
  if (all) {
    const every = Object.values(p.syncs);
    if (!every.length) throw new UserError('the project has no syncs', { file: 'syncs/', hint: 'add a syncs/<name>.yaml file.' });
    return every;
  }
  if (!names.length) throw new UserError('name at least one sync, or pass --all', { hint: `syncs: ${Object.keys(p.syncs).join(', ') || 'none'}.` });
  return names.map((name) => {
    const sync = Object.hasOwn(p.syncs, name) ? p.syncs[name] : undefined;
    if (!sync) throw new UserError(`no sync named "${name}"`, { file: `syncs/${name}.yaml`, hint: `defined syncs: ${Object.keys(p.syncs).join(', ') || 'none'}.` });
    return sync;
  });
}

function exitCodeOf(reports: SyncReport[]): number {
  if (reports.some((r) => r.status === 'failed' || r.status === 'cancelled')) return 1;
  if (reports.some((r) => r.status === 'completed_with_errors')) return 2;
  return 0;
}

function print(text: string) {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

async function runCommand(
  names: string[],
  opts: { project?: string; all?: boolean; fullResync?: boolean; json?: boolean; allowDeletes?: boolean },
  dryRun: boolean,
) {
  const p = await project(opts);
  const syncs = pickSyncs(p, names, !!opts.all);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    // First signal: finish in-flight batches, commit, stop. Second: leave at once (nothing is lost either way).
    if (++signals > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reporter = createReporter({ interactive: !opts.json && !!process.stderr.isTTY, mask: (t) => redact(t, p.secrets) });
  try {
    const reports = await runSyncs(p, syncs, reporter, { fullResync: opts.fullResync, dryRun, allowDeletes: opts.allowDeletes, signal: controller.signal });
    reporter.stop();
    if (opts.json) print(JSON.stringify(dryRun ? reports.map(({ sync, plan, delete_guard }) => ({ sync, ...plan, delete_guard })) : reports, null, 2));
    else reports.forEach((r) => print(formatSummary(r)));
    for (const r of reports) {
      if (!dryRun && r.status === 'failed' && r.delete_guard?.stops && !opts.allowDeletes) process.stderr.write(`error: sync ${r.sync}: ${r.error}\n`);
    }
    return dryRun ? 0 : exitCodeOf(reports);
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function buildProgram(): Command {
  const program = new Command('hightouch-like')
    .description('Sync SQL models to destinations: only changes, nothing lost.')
    .option('-p, --project <dir>', 'project folder (default: the current folder)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('validate')
    .description('check the project: YAML, models against the warehouse, destinations reachable')
    .action(act(async () => {
      const p = await project(program.opts());
      await preflight(p, Object.values(p.syncs));
      await checkStateStore(p);
      print(`ok: ${Object.keys(p.models).length} models, ${Object.keys(p.syncs).length} syncs, ${Object.keys(p.destinations).length} destinations`);
      return 0;
    }));

  program
    .command('plan')
    .description('dry run: counts of rows to add, change, remove, retry; nothing is sent')
    .argument('[syncs...]')
    .option('--all', 'every sync of the project')
    .option('--full-resync', 'plan as if nothing had been synced')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => runCommand(names, { ...program.opts(), ...opts }, true)));

  program
    .command('run')
    .description('sync changes to the destination')
    .argument('[syncs...]')
    .option('--all', 'every sync of the project')
    .option('--full-resync', 're-send every row, not only changes')
    .option('--allow-deletes', 'let mirror runs through the delete guard this once')
    .option('--json', 'machine-readable output')
    .action(act(async (names: string[], opts) => runCommand(names, { ...program.opts(), ...opts }, false)));

  program
    .command('status')
    .description('last run, synced rows and failing rows of each sync')
    .option('--json', 'machine-readable output')
    .action(act(async (opts) => {
      const statuses = await syncStatuses(await project(program.opts()));
      if (opts.json) print(JSON.stringify(statuses, null, 2));
      else {
        const columns = ['sync', 'last_status', 'last_finished_at', 'schedule', 'next_run_at', 'synced_rows', 'failed_rows', 'last_error'];
        print(formatTable(columns, statuses.map((s) => columns.map((c) => s[c as keyof typeof s]))));
      }
      return 0;
    }));

  program
    .command('query')
    .description('one read-only query over the state tables (sync_runs, failed_rows, sync_changelog, …)')
    .argument('<sql>')
    .option('--json', 'rows as JSON objects')
    .option('--csv', 'rows as CSV')
    .action(act(async (text: string, opts) => {
      const p = await project(program.opts());
      // DuckDB answers an empty query with no columns; that hides a mistake. Everything else about the text
      // (one statement, a query) is the state store's own parser's call, in queryState.
      if (isBlankSql(text)) throw new UserError('the query is empty.', { hint: 'write one SQL statement, e.g. "select * from sync_runs".' });
      if (p.state.type === 'duckdb' && !existsSync(p.state.path)) {
        throw new UserError('no state yet: nothing has run in this project', { file: p.file, field: 'state', hint: 'run a sync first.' });
      }
      const result = await queryState(p, text);
      if (opts.json) print(JSON.stringify(result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]]))), null, 2));
      else if (opts.csv) process.stdout.write(formatCsv(result.columns, result.rows));
      else process.stdout.write(formatTable(result.columns, result.rows));
      return 0;
    }));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let code = 0;
  try {
    await program.parseAsync(argv);
    code = exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    if (error instanceof UserError) {
      process.stderr.write(`error: ${redact(error.format(), maskable(secrets))}\n`);
      return 1;
    }
    const message = redact(oneLine((error as Error)?.message ?? String(error)), maskable(secrets));
    process.stderr.write(`error: ${message}\n`);
    if (process.env.HIGHTOUCH_LIKE_DEBUG) process.stderr.write(`${redact(String((error as Error)?.stack), maskable(secrets))}\n`);
    return 1;
  }
  return code;
}
