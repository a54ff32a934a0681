/**
 * Text that begins with a byte-order mark (U+FEFF) keeps it when the engine reads it back from DuckDB
 * (core/db/duckdb-text.ts): as a key and as a value, through a DuckDB warehouse and state and through a
 * PostgreSQL warehouse staged into DuckDB state.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

it('keeps a leading byte-order mark in keys and values read back from DuckDB', async () => {
  project = await createProject({
    'hightouch-like.config.yaml':
      'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  files: { type: file, path: out }\n',
    'models/m.sql': 'select k, v from t',
    'syncs/s.yaml': 'model: m\ndestination: files\nprimary_key: k\nformat: jsonl\nmapping: { v: v }\n',
  });
  await project.warehouse(`create table t (k varchar, v varchar);
    insert into t values (chr(65279) || 'abc', chr(65279) || 'bom'), ('abc', 'plain')`);
  const first = await project.cli(['run', 's', '--json']);
  expect(first.code, first.stderr).toBe(0);
  const sent = (await readFile(join(project.dir, 'out/s.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => [r.key, r.fields.v])
    .sort();
  expect(sent).toEqual([
    ['abc', 'plain'],
    ['\uFEFFabc', '\uFEFFbom'],
  ]);
  const plan = JSON.parse((await project.cli(['plan', 's', '--json'])).stdout)[0];
  expect(plan).toMatchObject({ model_rows: 2, planned: 0, removed: 0 });
});
