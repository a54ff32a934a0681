/**
 * The file piscina loads in each worker thread: CommonJS on purpose. piscina first tries `require()` on
 * its worker file, and on Node 20 requiring an ES module takes the experimental require(esm) path,
 * which crashed a worker thread with a native assertion (`CreateRequiredModuleFacade`) in one full test
 * run of ~330 tests. Required as CommonJS, this file loads the real worker with `import()`, once.
 */
import type { DeliveryResult } from './deliver-batch.js';
import type { JobOpened, WriteTask } from './write-worker.js';

type Worker = (task: WriteTask) => Promise<DeliveryResult | JobOpened>;
let worker: Promise<Worker> | null = null;

module.exports = async function writeWorkerEntry(task: WriteTask): Promise<DeliveryResult | JobOpened> {
  worker ??= import('./write-worker.js').then((m: { default: Worker }) => m.default);
  return (await worker)(task);
};
