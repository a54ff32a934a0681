/**
 * Each destination type's connector, loaded on demand. A write thread loads only its own destination's
 * module and client library: the registry (registry.ts) imports every connector with theirs (undici, pg,
 * the connector kit), about 240 ms of a thread's start, on a core the plan and the other threads share.
 * `registry.ts` stays the list the CLI validates against; a test keeps the two lists alike.
 */
import type { DestinationConnector } from './destination.js';

const loaders: Record<string, () => Promise<DestinationConnector>> = {
  file: async () => (await import('./destinations/file/file-destination.js')).fileDestination,
  postgres: async () => (await import('./destinations/postgres/postgres-destination.js')).postgresDestination,
  http: async () => (await import('./destinations/http/http-destination.js')).httpDestination,
  salesforce: async () => (await import('./destinations/salesforce/salesforce-destination.js')).salesforceDestination,
};

/** The connector of destination type `type`, or undefined for a type no connector has. */
export async function loadConnector(type: string): Promise<DestinationConnector | undefined> {
  return Object.hasOwn(loaders, type) ? loaders[type]() : undefined;
}

/** The types `loadConnector` knows. */
export const loadableTypes = (): string[] => Object.keys(loaders).sort();
