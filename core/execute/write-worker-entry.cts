/**
 * The file piscina loads in each worker thread: CommonJS on purpose. piscina first tries `require()` on
 * its worker file, and on Node 20 requiring an ES module takes the experimental require(esm) path,
 * which crashed a worker thread with a native assertion (`CreateRequiredModuleFacade`) in one full test
 * run of ~330 tests. Required as CommonJS, this file loads the real worker with `import()`, once, as the thread starts.
 */
import { Piscina } from 'piscina';
import type { DeliveryResult } from './deliver-batch.js';
import type { JobOpened, WriteTask } from './write-worker.js';

type Worker = (task: WriteTask) => Promise<DeliveryResult | JobOpened>;
type WorkerModule = { default: Worker; preload: (destinationType: string | null | undefined) => Promise<void> };
// Loaded as the thread starts, not on its first task: the pool is started while the sync plans
// (worker-pool.ts `warm`), and loading the connectors here took about 0.5 s before the first batch
// could leave. A failure to load is reported by each task, which awaits it.
// The pool's destination type (worker-pool.ts) has its client library loaded too, off the first task's path.
const worker: Promise<Worker> = import('./write-worker.js').then((m: WorkerModule) => {
  void m.preload((Piscina.workerData as { preload?: string | null } | undefined)?.preload);
  return m.default;
});
worker.catch(() => {});

module.exports = async function writeWorkerEntry(task: WriteTask): Promise<DeliveryResult | JobOpened> {
  return (await worker)(task);
};
