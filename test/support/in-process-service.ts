/**
 * `serve` in the test's own process, on a virtual clock: its schedule moves only when the test moves the
 * clock, its log lines are kept and awaitable, and its HTTP API answers on a loopback port. Runs stay real
 * (DuckDB, HTTP, worker threads); only time is the test's.
 */
import { loadProject } from '../../core/config/load-project.js';
import type { ProjectConfig } from '../../core/config/types.js';
import { RunController, type ControllerOptions } from '../../core/run/controller.js';
import { Service } from '../../core/service/service.js';
import { VirtualClock } from './virtual-clock.js';

export type Logged = Record<string, unknown> & { msg: string };

export interface InProcessService {
  /** The project as the service loaded it. */
  project: ProjectConfig;
  service: Service;
  controller: RunController;
  clock: VirtualClock;
  url: string;
  logged: Logged[];
  /** How many lines `msg` (for `sync`, if given) the service has logged. */
  count(msg: string, sync?: string): number;
  /** Resolves once `condition()` holds, checked after each log line. */
  until(condition: () => boolean): Promise<void>;
  /** Runs the scheduler finished for `sync`. */
  finished(sync: string): number;
  /** A JSON call to the service's HTTP API. */
  api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startInProcessService(options: {
  dir: string;
  env: Record<string, string | undefined>;
  /** The virtual clock's start, or a clock the test already made (to share it with a receiver). */
  clock?: VirtualClock | string;
  host?: string;
  controller?: ControllerOptions;
}): Promise<InProcessService> {
  const project = await loadProject(options.dir, options.env);
  const clock = options.clock instanceof VirtualClock ? options.clock : new VirtualClock(options.clock ?? '2026-03-01T08:07:00Z');
  const logged: Logged[] = [];
  const waiters: Array<() => void> = [];
  const controller = new RunController(options.controller);
  const service = new Service({
    project,
    controller,
    host: options.host ?? '127.0.0.1',
    port: 0,
    clock,
    onRunEvent: () => {},
    log: (msg, fields) => {
      logged.push({ msg, ...fields });
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const { port } = await service.start();
  const url = `http://127.0.0.1:${port}`;
  const count = (msg: string, sync?: string) => logged.filter((e) => e.msg === msg && (sync === undefined || e.sync === sync)).length;
  return {
    project,
    service,
    controller,
    clock,
    url,
    logged,
    count,
    async until(condition) {
      while (!condition()) await new Promise<void>((wake) => waiters.push(wake));
    },
    finished: (sync) => count('schedule_finished', sync),
    async api(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? null : JSON.parse(text) };
    },
    async close() {
      await service.stop();
      await controller.close();
    },
  };
}
