/**
 * `extracts/<name>.yaml`: which object of which source lands in which table, with the same line-numbered
 * one-line errors as sync files. The filter is checked here only for what would make it more than one
 * condition (connectors/sources/salesforce/soql.ts); the source itself judges the rest on the first run.
 */
import { join } from 'node:path';
import { getSource } from '../../connectors/source-registry.js';
import { UserError } from '../../shared/errors.js';
import type { ExtractApi, ExtractConfig, SourceConfig } from './types.js';
import { substituteEnv } from './env-substitution.js';
import { byBaseName, listFolder } from './folder.js';
import { PROJECT_FILE } from './project-file.js';
import { parseInterval, parseSchedule } from './schedule.js';
import { extractJsonSchema } from './schemas.js';
import { validateWithSchema } from './validate.js';
import { readYaml } from './yaml-source.js';

export const DEFAULT_EXTRACT_BULK_THRESHOLD = 10_000;
/** Five minutes: Salesforce stamps SystemModstamp when a transaction starts, and long ones commit minutes later. */
export const DEFAULT_OVERLAP_MS = 5 * 60_000;
const MAX_OVERLAP_MS = 7 * 86_400_000;

interface RawExtract {
  source: string;
  object: string;
  fields?: string[] | 'all';
  table: string;
  filter?: string;
  schedule?: unknown;
  api?: ExtractApi;
  bulk_threshold?: number;
  overlap?: string;
  max_calls_per_run?: number;
}

export async function loadExtract(
  dir: string,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
  sources: Record<string, SourceConfig>,
  name: string,
  file: string,
  projectFile = PROJECT_FILE,
): Promise<ExtractConfig> {
  const yaml = await readYaml(join(dir, file), file);
  const value = substituteEnv(yaml, env, secrets) ?? {};
  validateWithSchema(extractJsonSchema(), value, yaml, { secrets });
  const raw = value as RawExtract;
  const lines: Record<string, number> = Object.create(null);
  for (const key of Object.keys(raw)) lines[key] = yaml.lineOf([key]);
  const at = (field: string, hint: string) => ({ file, line: lines[field] ?? yaml.lineOf([]), field, hint });

  const source = Object.hasOwn(sources, raw.source) ? sources[raw.source] : undefined;
  if (!source) {
    const known = Object.keys(sources);
    throw new UserError(
      `source "${raw.source}" is not defined.`,
      at('source', `define it under sources: in ${projectFile}${known.length > 0 ? `, or use one of: ${known.join(', ')}` : ''}.`),
    );
  }
  const connector = getSource(source.type)!;
  const filter = raw.filter ?? null;
  const problem = filter === null ? null : connector.filterProblem(filter);
  if (problem) throw new UserError(`the filter ${problem}.`, at('filter', 'write one condition, as after WHERE, e.g. "Email != null".'));

  let overlapMs = DEFAULT_OVERLAP_MS;
  if (raw.overlap !== undefined) {
    const ms = parseInterval(raw.overlap);
    if (ms === undefined || ms > MAX_OVERLAP_MS) {
      throw new UserError(
        `overlap ${JSON.stringify(raw.overlap)} is not an interval of at most 7d.`,
        at('overlap', 'write e.g. 5m or 1h; 0s reads from the cursor exactly.'),
      );
    }
    overlapMs = ms;
  }
  const maxCalls = raw.max_calls_per_run ?? source.max_calls_per_run;
  return {
    name,
    file,
    source: source.name,
    object: raw.object,
    fields: raw.fields ?? 'all',
    table: raw.table,
    filter,
    schedule: parseSchedule(raw.schedule, yaml),
    api: raw.api ?? 'auto',
    bulk_threshold: raw.bulk_threshold ?? DEFAULT_EXTRACT_BULK_THRESHOLD,
    overlap_ms: overlapMs,
    ...(maxCalls !== undefined && { max_calls_per_run: maxCalls }),
    lines,
  };
}

export async function loadExtracts(
  dir: string,
  env: NodeJS.ProcessEnv,
  secrets: Set<string>,
  sources: Record<string, SourceConfig>,
  projectFile = PROJECT_FILE,
): Promise<Record<string, ExtractConfig>> {
  const extensions = ['.yaml', '.yml'];
  const files = byBaseName(await listFolder(join(dir, 'extracts'), extensions), extensions, 'extracts');
  const extracts: Record<string, ExtractConfig> = Object.create(null);
  const tables = new Map<string, string>();
  for (const [name, fileName] of files) {
    const extract = await loadExtract(dir, env, secrets, sources, name, `extracts/${fileName}`, projectFile);
    const other = tables.get(extract.table);
    if (other) {
      throw new UserError(`table ${extract.table} is already landed by extract ${other}.`, {
        file: extract.file,
        line: extract.lines.table,
        field: 'table',
        hint: 'give each extract a table of its own.',
      });
    }
    tables.set(extract.table, name);
    extracts[name] = extract;
  }
  return extracts;
}
