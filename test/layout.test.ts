/**
 * The folders follow the pipeline, and imports only go one way: a module may import its own layer and
 * the layers listed before it, never a later one. So there is no cycle between folders, connectors
 * never depend on the core, and `shared/` depends on nothing of ours. A new import against the grain
 * fails here with the file and the import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/project.js';

/** Lowest first. */
const LAYERS = [
  'shared',
  // Stand-ins for vendor APIs (`hightouch-like emulate`): they know the wire, nothing of ours but shared/.
  'emulators',
  'connectors',
  'core/config',
  'core/db',
  'core/state',
  'core/plan',
  'core/execute',
  'core/alert',
  'core/run',
  // Extracts (the ETL direction): source → landed table → cursor; beside runs, scheduled by the service.
  'core/extract',
  'core/schedule',
  'core/service',
  'core/cli',
  'core/api.ts',
];

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => file === layer || file.startsWith(`${layer}/`));
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(repoRoot, path)).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((spec) => relative(repoRoot, normalize(join(repoRoot, dirname(file), spec))).replace(/\.js$/, '.ts'));
}

const files = [...sources('shared'), ...sources('emulators'), ...sources('connectors'), ...sources('core')];

describe('layout', () => {
  it('puts every source file in a known layer', () => {
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('imports only from the same layer or an earlier one', () => {
    const against = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => layerOf(target) > layerOf(file))
        .map((target) => `${file} → ${target}`),
    );
    expect(against).toEqual([]);
  });
});
