/**
 * Runs a child process and measures it from the outside: wall time and peak RSS of that process.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -v`) when it is installed; otherwise the child is started
 * with `--import` of a small preload that writes `process.resourceUsage().maxRSS` on exit. Worker
 * threads share the process, so either way the figure covers the main thread and every worker.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const GNU_TIME = '/usr/bin/time';
export const rssSource = existsSync(GNU_TIME) ? 'GNU time -v (maximum resident set size)' : 'process.resourceUsage().maxRSS via a preload';

export interface Measured {
  code: number | null;
  wallMs: number;
  /** Peak resident set size of the measured process, bytes (null if it could not be read). */
  maxRss: number | null;
  /** User + system CPU time of the process, seconds (GNU time only; null otherwise). */
  cpuSeconds: number | null;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  timeoutMs?: number;
}

const preload = new URL('./rss-preload.js', import.meta.url);

/** Runs `node <script> <args>` and measures it. */
export async function measureNode(script: string, args: string[], options: MeasureOptions = {}): Promise<Measured> {
  const scratch = await mkdtemp(join(tmpdir(), 'htl-bench-rss-'));
  const rssFile = join(scratch, 'rss');
  const nodeArgs = [...(options.nodeFlags ?? []), script, ...args];
  let command: string;
  let argv: string[];
  const env: Record<string, string | undefined> = { ...process.env, ...cleanProxy, ...options.env };
  if (existsSync(GNU_TIME)) {
    command = GNU_TIME;
    argv = ['-v', '-o', rssFile, process.execPath, ...nodeArgs];
  } else {
    command = process.execPath;
    argv = ['--import', pathToFileURL(preload.pathname).href, ...nodeArgs];
    env.HTL_BENCH_RSS_FILE = rssFile;
  }
  try {
    const started = performance.now();
    const { code, stdout, stderr } = await run(command, argv, { cwd: options.cwd, env, timeoutMs: options.timeoutMs });
    const wallMs = performance.now() - started;
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    return { code, wallMs, maxRss: parseRss(text), cpuSeconds: parseCpu(text), stdout, stderr };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function parseCpu(text: string): number | null {
  const user = /User time \(seconds\): ([\d.]+)/.exec(text);
  const system = /System time \(seconds\): ([\d.]+)/.exec(text);
  return user && system ? Number(user[1]) + Number(system[1]) : null;
}

const cleanProxy = { http_proxy: '', https_proxy: '', HTTP_PROXY: '', HTTPS_PROXY: '' };

function parseRss(text: string): number | null {
  const gnu = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  if (gnu) return Number(gnu[1]) * 1024;
  const own = /^(\d+)$/m.exec(text.trim());
  // process.resourceUsage().maxRSS is in kilobytes.
  return own ? Number(own[1]) * 1024 : null;
}

function run(
  command: string,
  argv: string[],
  options: { cwd?: string; env: Record<string, string | undefined>; timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      // Long runs log one line per commit: keep only the tail.
      if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
