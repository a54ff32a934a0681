/** What a sync writes to and how hard: the plain-data target sent to workers, and effective settings. */
import type { DestinationConnector, WriteTarget } from '../../connectors/destination.js';
import type { ProjectConfig, RetryPolicy, SyncConfig } from '../config/types.js';

export function writeTarget(project: ProjectConfig, sync: SyncConfig): WriteTarget {
  const destination = project.destinations[sync.destination];
  const keyEntry = Object.entries(sync.mapping).find(([, column]) => column === sync.primary_key);
  return {
    projectDir: project.dir,
    destination: { name: destination.name, type: destination.type, settings: destination.settings },
    sync: {
      name: sync.name,
      mode: sync.mode,
      keyField: keyEntry ? keyEntry[0] : null,
      fields: Object.keys(sync.mapping),
      settings: sync.settings,
    },
  };
}

export interface EffectiveSettings {
  batchSize: number;
  concurrency: number;
  retry: RetryPolicy;
}

/** The sync's own value wins, then the destination's, then the connector's default. */
export function effectiveSettings(project: ProjectConfig, sync: SyncConfig, connector: DestinationConnector): EffectiveSettings {
  const destination = project.destinations[sync.destination];
  return {
    batchSize: sync.batch_size ?? destination.batch_size ?? connector.defaults.batchSize,
    concurrency: sync.concurrency ?? destination.concurrency ?? connector.defaults.concurrency,
    retry: { ...connector.defaults.retry, ...destination.retry, ...sync.retry },
  };
}
