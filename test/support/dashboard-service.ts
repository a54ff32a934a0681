/**
 * An in-process `serve` for dashboard tests: a project whose sync sends to a loopback HTTP sink, on a
 * virtual clock (its schedule only moves when the test says), with its log lines kept and awaitable.
 */
import { loadProject } from '../../core/config/load-project.js';
import { RunController } from '../../core/run/controller.js';
import { Service } from '../../core/service/service.js';
import { startHttpSink, type HttpSink, type SinkOptions } from './http-sink.js';
import { createProject, type TestProject } from './project.js';
import { VirtualClock } from './virtual-clock.js';

export type Logged = Record<string, unknown> & { msg: string };

export interface DashboardService {
  project: TestProject;
  sink: HttpSink;
  service: Service;
  clock: VirtualClock;
  url: string;
  logged: Logged[];
  /** Resolves once `condition()` holds, checked after each log line. */
  until(condition: () => boolean): Promise<void>;
  finished(sync: string): number;
  close(): Promise<void>;
}

export async function startDashboardService(options: {
  rows: number;
  sink?: SinkOptions;
  projectYaml?: string;
  /** Extra keys of syncs/contacts.yaml. */
  syncYaml?: string;
  env?: Record<string, string>;
  host?: string;
}): Promise<DashboardService> {
  const sink = await startHttpSink({ assignIds: true, ...options.sink });
  const project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\n' +
      'destinations:\n' +
      '  api: { type: http, url: "${SINK_URL}" }\n' +
      (options.projectYaml ?? ''),
    'models/contacts.sql': 'select * from contacts',
    'syncs/contacts.yaml':
      'model: contacts\ndestination: api\nprimary_key: id\nmapping: { email: email }\nschedule: { every: 15m }\n' +
      (options.syncYaml ?? ''),
  });
  await project.warehouse(
    `create table contacts as select range::varchar as id, 'c' || range || '@x.io' as email from range(${options.rows})`,
  );
  const loaded = await loadProject(project.dir, { ...process.env, SINK_URL: sink.url, ...options.env });
  const clock = new VirtualClock('2026-03-01T08:07:00Z');
  const logged: Logged[] = [];
  const waiters: Array<() => void> = [];
  const controller = new RunController();
  const service = new Service({
    project: loaded,
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
  return {
    project,
    sink,
    service,
    clock,
    url: `http://127.0.0.1:${port}`,
    logged,
    async until(condition) {
      while (!condition()) await new Promise<void>((r) => waiters.push(r));
    },
    finished: (sync) => logged.filter((e) => e.msg === 'schedule_finished' && e.sync === sync).length,
    async close() {
      await service.stop();
      await controller.close();
      await sink.close();
      await project.remove();
    },
  };
}
