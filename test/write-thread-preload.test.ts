/**
 * A write thread loads its destination's client library as it starts (DestinationConnector.preload,
 * worker-pool.ts): jsforce took 310 ms at a Salesforce thread's first connect. Checked on the module
 * cache of this process, which has not loaded jsforce before (this file imports no Salesforce code).
 * And a pool's own errors, which piscina emits as events, never crash the process.
 */
import { createRequire } from 'node:module';
import { afterEach, expect, it } from 'vitest';
import { WorkerPools } from '../core/execute/worker-pool.js';
import { preload } from '../core/execute/write-worker.js';

const loaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => /[\\/]jsforce[\\/]lib[\\/]connection\.js$/.test(path));

let pools: WorkerPools | undefined;
afterEach(async () => {
  await pools?.close();
  pools = undefined;
});

it('loads the Salesforce connector library when asked, and nothing for a type without one', async () => {
  expect(loaded()).toBe(false);
  await preload('http');
  await preload(null);
  await preload('no-such-type');
  expect(loaded()).toBe(false);
  await preload('salesforce');
  expect(loaded()).toBe(true);
});

it('keeps one pool per shape and destination type, each named for the library its threads load', () => {
  pools = new WorkerPools();
  const shape = { workers: 1, tasksPerWorker: 1 };
  pools.warm(shape, 'salesforce');
  pools.warm(shape, 'salesforce');
  const salesforce = pools.poolFor(shape, 'salesforce');
  const http = pools.poolFor(shape, 'http');
  expect(http).not.toBe(salesforce);
  expect(pools.created).toBe(2);
  expect(pools.stats()).toEqual([
    { workers: 1, tasksPerWorker: 1, completed: 0, preload: 'salesforce' },
    { workers: 1, tasksPerWorker: 1, completed: 0, preload: 'http' },
  ]);
});

it("survives an answer that comes after its pool was discarded, as piscina reports it (an 'error' event)", async () => {
  pools = new WorkerPools();
  const pool = pools.poolFor({ workers: 1, tasksPerWorker: 1 }, 'http');
  await pools.discard(pool);
  // What piscina emits when a terminated thread's answer was already on its way (its onMessage finds
  // no task for it). An EventEmitter with no 'error' listener throws it.
  expect(() => pool.emit('error', new Error('Unexpected message from Worker: { taskId: 7 }'))).not.toThrow();
});
