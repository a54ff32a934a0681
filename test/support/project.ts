/**
 * Throwaway example projects for tests: a folder with a config, models and syncs, a real DuckDB
 * warehouse file, and the real CLI run as a child process (so exit codes, stderr and kills are real).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '../../core/db/duckdb-api.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(repoRoot, 'bin/hightouch-like.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface TestProject {
  dir: string;
  write(file: string, text: string): Promise<void>;
  /** Runs SQL against the project's DuckDB warehouse file (opened and closed around the call). */
  warehouse(sqlText: string): Promise<Record<string, unknown>[]>;
  /** Runs the CLI in the project folder. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Starts the CLI without waiting, for tests that kill it. */
  spawn(args: string[], env?: Record<string, string>): ChildProcess;
  remove(): Promise<void>;
}

const cleanEnv = (extra: Record<string, string> = {}) => ({
  ...process.env,
  http_proxy: '',
  https_proxy: '',
  HTTP_PROXY: '',
  HTTPS_PROXY: '',
  ...extra,
});

export async function createProject(files: Record<string, string>): Promise<TestProject> {
  const dir = await mkdtemp(join(tmpdir(), 'htl-test-'));
  const write = async (file: string, text: string) => {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  };
  for (const [file, text] of Object.entries(files)) await write(file, text);
  const spawnCli = (args: string[], env?: Record<string, string>) =>
    spawn(process.execPath, [cli, '--project', dir, ...args], { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    dir,
    write,
    async warehouse(sqlText) {
      const instance = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
      const connection = await instance.connect();
      try {
        const reader = await connection.runAndReadAll(sqlText);
        return reader.getRowObjectsJS() as Record<string, unknown>[];
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    },
    cli(args, env) {
      return new Promise((resolvePromise) => {
        const child = spawnCli(args, env);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
      });
    },
    spawn: spawnCli,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** JSON log lines of a non-interactive run, by event name. */
export function logEvents(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Reads a project's DuckDB state store directly, read-only unless `write` (the CLI has exited, so its
 * file lock is free).
 */
export async function readStateStore(dir: string, sqlText: string, write = false): Promise<Record<string, unknown>[]> {
  return readDuckDbFile(join(dir, '.hightouch-like/state.duckdb'), sqlText, write);
}

/** Reads a project's landed tables (README "Landed tables": `.hightouch-like/landed.duckdb` by default), read-only. */
export async function readLandedTables(dir: string, sqlText: string): Promise<Record<string, unknown>[]> {
  return readDuckDbFile(join(dir, '.hightouch-like/landed.duckdb'), sqlText, false);
}

async function readDuckDbFile(path: string, sqlText: string, write: boolean): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, write ? {} : { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sqlText)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
