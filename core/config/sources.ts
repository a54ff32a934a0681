/**
 * `sources:` of the project file. Credentials follow the destinations' rules, and more strictly: a
 * key the connector marks secret (tokens, the client secret) must come from ${ENV}, so it is masked
 * everywhere and never sits in a file.
 */
import { getSource } from '../../connectors/source-registry.js';
import { UserError } from '../../shared/errors.js';
import type { SourceConfig } from './types.js';

export type RawSources = Record<string, Record<string, unknown>>;

export function parseSources(
  raw: RawSources | undefined,
  secrets: Set<string>,
  file: string,
  lines: Record<string, number>,
): Record<string, SourceConfig> {
  const sources: Record<string, SourceConfig> = Object.create(null);
  for (const [name, entry] of Object.entries(raw ?? {})) {
    // The schema only admits registered types.
    const connector = getSource(String(entry.type))!;
    const settings: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(entry)) {
      if (key === 'type' || key === 'api_budget') continue;
      if (connector.secretKeys.includes(key) && typeof value === 'string' && !secrets.has(value)) {
        throw new UserError(`${key} is written in the file; it must come from the environment.`, {
          file,
          line: lines[`sources.${name}.${key}`] ?? lines[`sources.${name}`],
          field: `sources.${name}.${key}`,
          hint: `write ${key}: \${SF_${key.toUpperCase()}} and set that variable in the environment.`,
        });
      }
      settings[key] = value;
    }
    const budget = entry.api_budget as { max_calls_per_run?: number } | undefined;
    sources[name] = {
      name,
      type: connector.type,
      settings,
      ...(budget?.max_calls_per_run !== undefined && { max_calls_per_run: budget.max_calls_per_run }),
    };
  }
  return sources;
}
