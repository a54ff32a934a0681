/** What a sync writes to and how hard: the plain-data target sent to workers, and effective settings. */
import { availableParallelism } from 'node:os';
import type { DestinationConnector, WriteTarget } from '../../connectors/destination.js';
import { buildWriteTarget } from '../../connectors/kit/write-target.js';
import type { ProjectConfig, RetryPolicy, SyncConfig } from './types.js';

export function writeTarget(project: ProjectConfig, sync: SyncConfig): WriteTarget {
  return buildWriteTarget({
    projectDir: project.dir,
    destination: project.destinations[sync.destination],
    sync: { name: sync.name, mode: sync.mode, primaryKey: sync.primary_key, mapping: sync.mapping, settings: sync.settings },
    secrets: project.secrets,
  });
}

export interface EffectiveSettings {
  batchSize: number;
  concurrency: number;
  /** Worker threads; each runs `ceil(concurrency / workers)` write calls at a time. */
  workers: number;
  retry: RetryPolicy;
}

/** The sync's own value wins, then the destination's, then the connector's default. */
export function effectiveSettings(project: ProjectConfig, sync: SyncConfig, connector: DestinationConnector): EffectiveSettings {
  const destination = project.destinations[sync.destination];
  const concurrency = sync.concurrency ?? destination.concurrency ?? connector.defaults.concurrency;
  // Write calls mostly wait on the network: more threads than cores only add start-up (each loads the
  // connector, e.g. jsforce) and contention, so by default a thread carries several calls at once.
  const workers = sync.workers ?? destination.workers ?? Math.min(concurrency, availableParallelism());
  return {
    batchSize: sync.batch_size ?? destination.batch_size ?? connector.defaults.batchSize,
    concurrency,
    workers: Math.min(workers, concurrency),
    retry: { ...connector.defaults.retry, ...destination.retry, ...sync.retry },
  };
}
