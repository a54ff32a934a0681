/** Every destination type the engine knows, by its `type:` name in the project file. */
import type { DestinationConnector } from './destination.js';
import { fileDestination } from './destinations/file/file-destination.js';
import { httpDestination } from './destinations/http/http-destination.js';
import { postgresDestination } from './destinations/postgres/postgres-destination.js';
import { salesforceDestination } from './destinations/salesforce/salesforce-destination.js';

const connectors: DestinationConnector[] = [fileDestination, postgresDestination, httpDestination, salesforceDestination];

const byType = new Map(connectors.map((c) => [c.type, c]));

export function getConnector(type: string): DestinationConnector | undefined {
  return byType.get(type);
}

export function connectorTypes(): string[] {
  return [...byType.keys()].sort();
}
