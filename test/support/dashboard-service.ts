/**
 * An in-process `serve` for dashboard tests: a project whose sync sends to a loopback HTTP sink, on a
 * virtual clock (its schedule only moves when the test says), with its log lines kept and awaitable.
 */
import type { Service } from '../../core/service/service.js';
import { startHttpSink, type HttpSink, type SinkOptions } from './http-sink.js';
import { createProject, type TestProject } from './project.js';
import { startInProcessService, type Logged } from './in-process-service.js';
import type { VirtualClock } from './virtual-clock.js';

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
  const inProcess = await startInProcessService({
    dir: project.dir,
    env: { ...process.env, SINK_URL: sink.url, ...options.env },
    host: options.host,
  });
  return {
    project,
    sink,
    service: inProcess.service,
    clock: inProcess.clock,
    url: inProcess.url,
    logged: inProcess.logged,
    until: inProcess.until,
    finished: inProcess.finished,
    async close() {
      await inProcess.close();
      await sink.close();
      await project.remove();
    },
  };
}
