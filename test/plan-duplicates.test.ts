/**
 * Duplicate primary keys among rows already in the snapshot: the DuckDB planner's direct diff cannot
 * see them row by row and must fall back to the staged plan, which sets every copy aside.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject;
afterEach(async () => project?.remove());

it('sets aside every copy of a key duplicated after it was synced, changed copy or not', async () => {
  project = await createProject({
    'hightouch-like.config.yaml': 'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n',
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: { email: email }\n',
  });
  await project.warehouse(`
    create table users (id integer, email varchar);
    insert into users values (1, 'a@x.io'), (2, 'b@x.io'), (3, 'c@x.io'), (4, 'd@x.io')`);
  expect((await project.cli(['run', 'users'])).code).toBe(0);

  // Key 2: an identical second copy (both unchanged); key 3: a second copy with new values; key 4 changes.
  await project.warehouse(`insert into users values (2, 'b@x.io'), (3, 'c2@x.io'); update users set email = 'd2@x.io' where id = 4`);
  const plan = await project.cli(['plan', 'users', '--json']);
  expect(JSON.parse(plan.stdout)[0]).toMatchObject({ model_rows: 6, invalid: 4, changed: 1, unchanged: 1, planned: 1 });

  const run = await project.cli(['run', 'users', '--json']);
  expect(run.code).toBe(2);
  expect(JSON.parse(run.stdout)[0]).toMatchObject({ sent: 1, succeeded: 1, invalid: 4 });
  const lines = (await readFile(join(project.dir, 'out/users.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.slice(4).map((l) => l.key)).toEqual(['4']);
});
