/** Every source type the engine knows, by its `type:` under `sources:` in the project file. */
import type { SourceConnector } from './source.js';
import { salesforceSource } from './sources/salesforce/salesforce-source.js';

const sources: SourceConnector[] = [salesforceSource];

const byType = new Map(sources.map((s) => [s.type, s]));

export function getSource(type: string): SourceConnector | undefined {
  return byType.get(type);
}

export function sourceTypes(): string[] {
  return [...byType.keys()].sort();
}
