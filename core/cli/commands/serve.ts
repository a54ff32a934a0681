/**
 * `serve`: runs every sync on its schedule, with an HTTP API on loopback, until SIGTERM/SIGINT. Logs one
 * JSON line per event on stderr (run events as `run` writes them, plus the scheduler's and the
 * service's). First signal: start nothing new, let in-flight batches finish and commit, record the
 * running runs `cancelled` (the next start runs them again), exit 0. Second signal: exit at once (130).
 */
import { checkBind } from '../../config/project-file.js';
import { UserError } from '../../../shared/errors.js';
import { Service } from '../../service/service.js';
import type { CliContext } from '../context.js';
import { createJsonLogger, createReporter } from '../reporter.js';

export interface ServeOptions {
  project?: string;
  port?: string;
  host?: string;
}

export async function serveCommand(context: CliContext, options: ServeOptions): Promise<number> {
  const project = await context.project(options);
  const host = options.host ?? project.service.host;
  checkBind(host, project.service.token, { field: '--host' });
  const port = options.port === undefined ? project.service.port : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`--port ${options.port} is not a TCP port`, {
      field: '--port',
      hint: 'give a whole number from 0 to 65535 (0 picks a free one).',
    });
  }
  const logger = createJsonLogger();
  const service = new Service({
    project,
    controller: context.controller,
    host,
    port,
    onRunEvent: createReporter({ interactive: false }).onEvent,
    log: (msg, fields, level = 'info') => logger[level](fields, msg),
  });
  let signals = 0;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    void service.stop().then(stopped, stopped);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await service.start();
    await done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
