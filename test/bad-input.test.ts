/**
 * Bad input through the real CLI: one line on stderr naming file, line and field with the fix,
 * exit code 1, no stack trace, and no state written. A problem of one sync found by preflight (its model's
 * SQL, a mapped column, its destination) is checked through `plan`: `run` records it as a failed run of
 * that sync (test/run-isolation.test.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';
import { closedPort } from './support/closed-port.js';

let project: TestProject;
afterEach(async () => project?.remove());

const goodSync = 'model: users\ndestination: out\nprimary_key: id\nmapping:\n  email: email\n  name: name\n';
const goodConfig = 'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file, path: out }\n';

async function make(files: Record<string, string> = {}) {
  project = await createProject({
    'hightouch-like.config.yaml': goodConfig,
    'models/users.sql': 'select id, email, name\nfrom users',
    'syncs/users.yaml': goodSync,
    ...files,
  });
  await project.warehouse(`create table users as select 1 as id, 'a@x.io' as email, 'Ann' as name`);
}

async function expectOneLineError(args: string[], pattern: RegExp, env: Record<string, string> = {}) {
  const result = await project.cli(args, env);
  expect(result.code, result.stdout).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(join(project.dir, '.hightouch-like')), 'no state written').toBe(false);
  return lines[0];
}

describe('bad input', () => {
  it('malformed YAML', async () => {
    await make({ 'syncs/users.yaml': 'model: users\nmapping:\n  email: [unclosed\n' });
    await expectOneLineError(['run', 'users'], /syncs\/users\.yaml:\d+: .*YAML/);
  });

  it('an unknown key, with the closest valid one', async () => {
    await make({ 'syncs/users.yaml': goodSync + 'batchsize: 10\n' });
    await expectOneLineError(['run', 'users'], /syncs\/users\.yaml:7: batchsize: unknown key "batchsize"\. did you mean "batch_size"\?/);
  });

  it('a missing model file', async () => {
    await make({ 'syncs/users.yaml': goodSync.replace('model: users', 'model: customers') });
    await expectOneLineError(['validate'], /syncs\/users\.yaml:1: model: model "customers" not found/);
  });

  it('an SQL error in a model, with the database message and the model line', async () => {
    await make({ 'models/users.sql': 'select id, email, name\nfrom users\nwhere nope > 1' });
    await expectOneLineError(['plan', 'users'], /models\/users\.sql:3: SQL error: Binder Error: Referenced column "nope" not found/);
  });

  it('a primary key that is not a model column', async () => {
    await make({ 'syncs/users.yaml': goodSync.replace('primary_key: id', 'primary_key: user_id') });
    await expectOneLineError(
      ['plan', 'users'],
      /syncs\/users\.yaml:3: primary_key: primary key column "user_id" is not in model users \(columns: id, email, name\)/,
    );
  });

  it('a mapped column that is not a model column', async () => {
    await make({ 'syncs/users.yaml': goodSync.replace('name: name', 'name: full_name') });
    await expectOneLineError(['plan', 'users'], /syncs\/users\.yaml:6: mapping\.name: column "full_name" is not in model users/);
  });

  it('an unknown destination and an unknown destination type', async () => {
    await make({ 'syncs/users.yaml': goodSync.replace('destination: out', 'destination: crm') });
    await expectOneLineError(['run', 'users'], /syncs\/users\.yaml:2: destination: destination "crm" is not defined.*use one of: out/);
    await project.write('syncs/users.yaml', goodSync);
    await project.write('hightouch-like.config.yaml', goodConfig.replace('type: file', 'type: hubspot'));
    await expectOneLineError(
      ['run', 'users'],
      /hightouch-like\.config\.yaml:3: destinations\.out\.type: unknown destination type "hubspot"/,
    );
  });

  it('an environment variable that is not set', async () => {
    await make({ 'hightouch-like.config.yaml': goodConfig + '  api: { type: http, url: "${CRM_URL}" }\n' });
    await expectOneLineError(
      ['run', 'users'],
      /hightouch-like\.config\.yaml:4: destinations\.api\.url: environment variable CRM_URL is not set/,
    );
  });

  it('an unreachable warehouse', async () => {
    const port = await closedPort();
    await make({
      'hightouch-like.config.yaml': goodConfig.replace(
        '{ type: duckdb, path: warehouse.duckdb }',
        `{ type: postgres, url: "postgres://postgres:hunter2pw@127.0.0.1:${port}/test" }`,
      ),
    });
    const line = await expectOneLineError(
      ['run', 'users'],
      /hightouch-like\.config\.yaml:1: warehouse\.url: cannot connect to PostgreSQL warehouse/,
    );
    expect(line).not.toContain('hunter2pw');
  });

  it('an unreachable state store', async () => {
    const port = await closedPort();
    await make({
      'hightouch-like.config.yaml': goodConfig + `state: { type: postgres, url: "postgres://postgres@127.0.0.1:${port}/test" }\n`,
    });
    await expectOneLineError(['run', 'users'], /hightouch-like\.config\.yaml:4: state\.url: cannot connect to PostgreSQL/);
  });

  it('an unreachable destination', async () => {
    const port = await closedPort();
    await make({
      'hightouch-like.config.yaml': goodConfig + `  api: { type: http, url: "http://127.0.0.1:${port}/rows" }\n`,
      'syncs/users.yaml': goodSync.replace('destination: out', 'destination: api'),
    });
    await expectOneLineError(
      ['plan', 'users'],
      /hightouch-like\.config\.yaml:4: destinations\.api: destination "api" \(http\) is not usable/,
    );
  });

  it('a destination table that does not exist', async () => {
    await make({
      'hightouch-like.config.yaml': goodConfig + `  db: { type: postgres, url: "postgres://postgres@127.0.0.1:5432/test" }\n`,
      'syncs/users.yaml':
        goodSync.replace('destination: out', 'destination: db').replace('  email: email', '  id: id\n  email: email') +
        'table: no_such_table_htl\n',
    });
    await expectOneLineError(['plan', 'users'], /destinations\.db: .*no_such_table_htl/);
  });

  it('a sync that does not exist', async () => {
    await make();
    await expectOneLineError(['run', 'nope'], /syncs\/nope\.yaml: no sync named "nope".*defined syncs: users/);
  });
});
