/**
 * Starts a bench receiver in its own process (`bench/sink.ts`, or `bench/salesforce-emulator.ts`) and
 * talks to its control endpoints, on the same port or the `control` port it announces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SinkStats {
  requests: number;
  rows: number;
  byStatus: Record<string, number>;
  firstAt: number;
  lastAt: number;
}

export interface SinkConfig {
  latencyMs?: number;
  rejectEvery?: number;
  rejectOffset?: number;
  transientEvery?: number;
  transientOffset?: number;
}

export interface SinkProcess {
  url: string;
  pid: number;
  configure(config: SinkConfig): Promise<void>;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

export async function startSink(script = 'sink.js', args: string[] = []): Promise<SinkProcess> {
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [path, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, http_proxy: '', https_proxy: '', HTTP_PROXY: '', HTTPS_PROXY: '' },
  });
  const { port, control } = await new Promise<{ port: number; control?: number }>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (d) => {
      buffer += d;
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n')) resolve(JSON.parse(line) as { port: number; control?: number });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${control ?? port}`;
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    async configure(config) {
      const full = { latencyMs: 0, rejectEvery: 0, rejectOffset: 0, transientEvery: 0, transientOffset: 0, ...config };
      const res = await fetch(`${base}/__config`, { method: 'POST', body: JSON.stringify(full) });
      await res.text();
    },
    async stats() {
      return (await (await fetch(`${base}/__stats`)).json()) as SinkStats;
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
