/**
 * A parsed YAML file that still knows where each key came from, so errors found after parsing
 * (schema, env substitution, cross-file checks) can name `file:line`.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Document } from 'yaml';
import { UserError } from '../../shared/errors.js';
import { readTextFile } from './text-file.js';

/**
 * Bound on alias expansion (the `yaml` package's maxAliasCount, weighing each alias by the aliases it
 * copies), so a "billion laughs" file stops early instead of exhausting memory. Real configs use a few.
 */
const MAX_ALIAS_COUNT = 100;

/** A path into the parsed value: object keys and array indexes. */
export type YamlPath = readonly (string | number)[];

export interface YamlSource {
  /** Path relative to the project directory, for messages. */
  file: string;
  /** The plain JS value (`null` for an empty file). */
  value: unknown;
  /** Line (1-based) of the key at `path`, or of its nearest existing ancestor. */
  lineOf(path: YamlPath): number;
  /** Line of every mapping key, by dotted path (`destinations.crm.url`). */
  keyLines(): Record<string, number>;
}

export function dottedPath(path: YamlPath): string {
  return path.map(String).join('.');
}

export function parseYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const line = error.linePos?.[0]?.line ?? (lineCounter.linePos(error.pos[0]).line || 1);
    // The library appends " at line L, column C:" and a code excerpt; the location is already in the prefix.
    const first = error.message.split('\n')[0].replace(/\s*at line \d+, column \d+:?\s*$/, '');
    throw new UserError(`invalid YAML: ${first}.`, { file, line, hint: 'fix the YAML syntax.' });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The library throws, rather than reports, an alias to no anchor and an alias bomb.
    const message = (error as Error).message;
    if (/^Unresolved alias/.test(message)) {
      const line = aliasLine(doc, lineCounter, (alias) => alias.resolve(doc) === undefined);
      throw new UserError(`invalid YAML: ${message}.`, { file, line, hint: 'define the anchor (&name) before its alias (*name).' });
    }
    throw new UserError('YAML aliases expand too much.', {
      file,
      line: aliasLine(doc, lineCounter, () => true),
      hint: `write the values out; aliases may copy at most about ${MAX_ALIAS_COUNT} nodes in all.`,
    });
  }
  return {
    file,
    value: value === undefined ? null : value,
    lineOf: (path) => lineOf(doc, lineCounter, path),
    keyLines: () => keyLines(doc, lineCounter),
  };
}

export async function readYaml(absolutePath: string, file: string): Promise<YamlSource> {
  return parseYaml(await readTextFile(absolutePath, file), file);
}

/** Line of the first alias that `matches`, else 1. */
function aliasLine(doc: Document, lineCounter: LineCounter, matches: (alias: Alias) => boolean): number {
  let line = 1;
  visit(doc, {
    Alias(_, node) {
      if (!matches(node)) return undefined;
      line = lineAtOffset(lineCounter, node) ?? line;
      return visit.BREAK;
    },
  });
  return line;
}

function lineAtOffset(lineCounter: LineCounter, node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function lineOf(doc: Document, lineCounter: LineCounter, path: YamlPath): number {
  let node: unknown = doc.contents;
  let line = lineAtOffset(lineCounter, node) ?? 1;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (!pair) break;
      line = lineAtOffset(lineCounter, pair.key) ?? line;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      line = lineAtOffset(lineCounter, item) ?? line;
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function keyLines(doc: Document, lineCounter: LineCounter): Record<string, number> {
  const lines: Record<string, number> = Object.create(null);
  const walk = (node: unknown, prefix: string): void => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const path = prefix ? `${prefix}.${keyText(pair.key)}` : keyText(pair.key);
      const line = lineAtOffset(lineCounter, pair.key);
      if (line !== undefined) lines[path] = line;
      walk(pair.value, path);
    }
  };
  walk(doc.contents, '');
  return lines;
}
