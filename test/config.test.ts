import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { connectorTypes, getConnector } from '../connectors/registry.js';
import { loadableTypes, loadConnector } from '../connectors/load-connector.js';
import { UserError } from '../shared/errors.js';
import { loadProject } from '../core/config/load-project.js';
import { allSchemas, schemaFiles } from '../core/config/schemas.js';
import { precompiledWith } from '../core/config/validate.js';
import { isBlankSql } from '../core/config/sql-statement.js';
import { closest } from '../core/config/did-you-mean.js';
import { createProject } from './support/project.js';

const execFileAsync = promisify(execFile);

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

const PROJECT = `destinations:
  out:
    type: file
    path: out
`;
const MODEL = 'select 1 as id, 2 as email\n';
const SYNC = `model: users
destination: out
primary_key: id
mapping:
  email: email
`;

/** A throwaway project: the three files above unless overridden; `null` leaves a file out. */
async function project(files: Record<string, string | null> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'htl-config-'));
  made.push(dir);
  const all: Record<string, string | null> = {
    'hightouch-like.config.yaml': PROJECT,
    'models/users.sql': MODEL,
    'syncs/users.yaml': SYNC,
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    if (text === null) continue;
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** Loads and returns the one-line message of the UserError it must throw. */
async function failure(dir: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const error = await loadProject(dir, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  const line = (error as UserError).format();
  expect(line).not.toContain('\n');
  return line;
}

describe('loadProject: happy path', () => {
  it('resolves a full project with defaults, env substitution and secrets (env values, not defaults)', async () => {
    const dir = await project({
      'hightouch-like.config.yaml': `# yaml-language-server: $schema=./schemas/project.schema.json
destinations:
  out:
    type: file
    path: \${OUT_DIR:-exports}
    format: jsonl
    batch_size: 500
    retry:
      attempts: 5
  vault:
    type: file
    path: "\${SECRET_DIR}/x"
`,
      'models/users.sql': '-- all users\nselect id, email\nfrom users\n;  -- done\n\n',
      'models/users.yaml': 'primary_key: id\ndescription: every user\n',
      'models/orders.sql': "select ';' as semi, 1 as order_id",
      'syncs/users.yaml': `model: users
destination: out
mapping:
  email_address: email
  user_id: id
format: csv
batch_size: 100
schedule: "0 * * * *"
`,
      'syncs/orders.yml': `model: orders
destination: vault
primary_key: order_id
mode: mirror
mapping: { id: order_id }
`,
    });
    const config = await loadProject(dir, { SECRET_DIR: '/tmp/s3cr3t' });

    expect(config.dir).toBe(dir);
    expect(config.file).toBe('hightouch-like.config.yaml');
    expect(config.warehouse).toEqual({ type: 'duckdb', path: ':memory:' });
    expect(config.state).toEqual({ type: 'duckdb', path: join(dir, '.hightouch-like', 'state.duckdb') });
    expect(config.destinations.out).toEqual({
      name: 'out',
      type: 'file',
      settings: { path: 'exports', format: 'jsonl' },
      batch_size: 500,
      retry: { attempts: 5 },
    });
    expect(config.destinations.vault.settings).toEqual({ path: '/tmp/s3cr3t/x' });
    expect(config.lines?.['destinations.out.path']).toBe(5);

    expect(config.models.users).toEqual({
      name: 'users',
      file: 'models/users.sql',
      sql: '-- all users\nselect id, email\nfrom users\n;  -- done',
      primary_key: 'id',
    });
    expect(config.models.orders.sql).toBe("select ';' as semi, 1 as order_id");

    const users = config.syncs.users;
    expect(users).toMatchObject({
      name: 'users',
      file: 'syncs/users.yaml',
      model: 'users',
      destination: 'out',
      primary_key: 'id',
      mode: 'upsert',
      mapping: { email_address: 'email', user_id: 'id' },
      batch_size: 100,
      schedule: { kind: 'cron', cron: '0 * * * *', timezone: 'UTC' },
      settings: { format: 'csv' },
    });
    expect(Object.keys(users.mapping)).toEqual(['email_address', 'user_id']);
    expect(users.lines).toEqual({
      model: 1,
      destination: 2,
      mapping: 3,
      'mapping.email_address': 4,
      'mapping.user_id': 5,
      format: 6,
      batch_size: 7,
      schedule: 8,
    });
    expect(config.syncs.orders).toMatchObject({
      file: 'syncs/orders.yml',
      mode: 'mirror',
      primary_key: 'order_id',
      schedule: { kind: 'manual' },
    });

    expect(config.secrets).toEqual(['/tmp/s3cr3t']);
  });

  it('resolves warehouse and state paths against the project directory', async () => {
    const dir = await project({
      'hightouch-like.config.yaml': `warehouse:
  type: duckdb
  path: data/warehouse.duckdb
state:
  type: postgres
  url: \${STATE_URL}
destinations:
  out: { type: file }
`,
    });
    const config = await loadProject(dir, { STATE_URL: 'postgres://u:pw@localhost/state' });
    expect(config.warehouse).toEqual({ type: 'duckdb', path: join(dir, 'data', 'warehouse.duckdb') });
    expect(config.state).toEqual({ type: 'postgres', url: 'postgres://u:pw@localhost/state' });
    expect(config.secrets).toEqual(['postgres://u:pw@localhost/state']);
  });

  it('uses an empty environment value, but :- replaces it with the default', async () => {
    const dir = await project({
      'hightouch-like.config.yaml': `destinations:
  out:
    type: file
    path: "a\${EMPTY}b\${ALSO_EMPTY:-c}$\${LITERAL}"
`,
    });
    const config = await loadProject(dir, { EMPTY: '', ALSO_EMPTY: '' });
    expect(config.destinations.out.settings.path).toBe('abc${LITERAL}');
    expect(config.secrets).toEqual([]);
  });
});

describe('loadProject: errors name file, line and field', () => {
  it('malformed YAML', async () => {
    const dir = await project({ 'syncs/users.yaml': 'model: users\ndestination: out\nmodel: again\n' });
    const line = await failure(dir);
    expect(line).toContain('syncs/users.yaml:3: invalid YAML: Map keys must be unique.');
    expect(line).toContain('fix the YAML syntax');
  });

  it('unknown key, with the closest valid key', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'batchsize: 10\n' });
    const line = await failure(dir);
    expect(line).toBe('syncs/users.yaml:6: batchsize: unknown key "batchsize". did you mean "batch_size"?');
  });

  it('unknown key in a destination, checked against the connector settings', async () => {
    const dir = await project({
      'hightouch-like.config.yaml': 'destinations:\n  out:\n    type: file\n    fromat: csv\n',
    });
    const line = await failure(dir);
    expect(line).toBe('hightouch-like.config.yaml:4: destinations.out.fromat: unknown key "fromat". did you mean "format"?');
  });

  it('unknown nested key without a close match lists the allowed keys', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'retry:\n  foo: 1\n' });
    const line = await failure(dir);
    expect(line).toContain('syncs/users.yaml:7: retry.foo: unknown key "foo".');
    expect(line).toContain('allowed keys: attempts, base_delay_ms, max_delay_ms');
  });

  it('wrong type', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'batch_size: ten\n' });
    const line = await failure(dir);
    expect(line).toContain('syncs/users.yaml:6: batch_size: must be a whole number, not a string.');
  });

  it('wrong mapping value type', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + '  phone: [a, b]\n' });
    const line = await failure(dir);
    expect(line).toContain('syncs/users.yaml:6: mapping.phone: must be a string, not a list.');
  });

  it('value out of range', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'retry:\n  attempts: 0\n' });
    expect(await failure(dir)).toContain('syncs/users.yaml:7: retry.attempts: must be at least 1.');
  });

  it('enum value not allowed lists the allowed values', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'mode: merge\n' });
    const line = await failure(dir);
    expect(line).toBe('syncs/users.yaml:6: mode: "merge" is not allowed. use one of: insert, update, upsert, mirror.');
  });

  it('connector enum value not allowed', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'format: xml\n' });
    const line = await failure(dir);
    expect(line).toContain('syncs/users.yaml:6: format: "xml" is not allowed. use one of: jsonl, csv.');
  });

  it('missing required key', async () => {
    const dir = await project({ 'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\n' });
    const line = await failure(dir);
    expect(line).toBe('syncs/users.yaml:1: mapping: required key is missing. add mapping: to this file.');
  });

  it('empty mapping', async () => {
    const dir = await project({ 'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: {}\n' });
    expect(await failure(dir)).toContain('syncs/users.yaml:4: mapping: must not be empty.');
  });

  it('missing model file', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC.replace('model: users', 'model: customers') });
    const line = await failure(dir);
    expect(line).toBe(
      'syncs/users.yaml:1: model: model "customers" not found. create models/customers.sql, or use one of the defined models: users.',
    );
  });

  it('unknown destination name lists the defined ones', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC.replace('destination: out', 'destination: crm') });
    const line = await failure(dir);
    expect(line).toBe(
      'syncs/users.yaml:2: destination: destination "crm" is not defined. define it under destinations: in hightouch-like.config.yaml, or use one of: out.',
    );
  });

  it('unknown destination type lists the registered types', async () => {
    const dir = await project({ 'hightouch-like.config.yaml': 'destinations:\n  out:\n    type: mailchimp\n' });
    const line = await failure(dir);
    expect(line).toContain('hightouch-like.config.yaml:3: destinations.out.type: unknown destination type "mailchimp".');
    expect(line).toContain(`use one of: ${connectorTypes().join(', ')}.`);
  });

  it('write threads load the same connectors the registry lists', async () => {
    // A write thread loads its destination's connector alone (connectors/load-connector.ts).
    expect(loadableTypes()).toEqual(connectorTypes());
    for (const type of connectorTypes()) expect(await loadConnector(type)).toBe(getConnector(type));
    expect(await loadConnector('toString')).toBeUndefined();
  });

  it("the build's precompiled validators hold every schema, and a CLI start validates without compiling one", async () => {
    // core/config/precompile-schemas.ts, run by `npm run build`; validate.ts uses a function only for its schema's exact text.
    const dist = join(dirname(fileURLToPath(import.meta.url)), '../dist/core/config');
    const generated = await readFile(join(dist, 'schemas.validators.cjs'), 'utf8');
    const texts = JSON.parse(generated.match(/module\.exports\.texts = (.*);\n$/)![1]) as string[];
    expect(texts).toEqual(allSchemas().map((schema) => JSON.stringify(schema)));
    expect(generated.match(/module\.exports\.madeWith = (.*);\n/)![1]).toBe(JSON.stringify(precompiledWith()));
    const probe = `
      import { createRequire } from 'node:module';
      const { validateWithSchema } = await import(${JSON.stringify(join(dist, 'validate.js'))});
      const { allSchemas } = await import(${JSON.stringify(join(dist, 'schemas.js'))});
      const errors = [];
      for (const schema of allSchemas()) {
        try { validateWithSchema(schema, { no_such_key: 1 }, { file: 'x.yaml', lines: {} }, { secrets: new Set() }); } catch (e) { errors.push(e.message); }
      }
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ errors: errors.length, compiler: loaded.some((path) => path.includes('/ajv/dist/core.js')) }));`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', probe]);
    expect(JSON.parse(stdout)).toEqual({ errors: allSchemas().length, compiler: false });
  });

  it('unknown warehouse type and missing postgres url', async () => {
    let dir = await project({ 'hightouch-like.config.yaml': PROJECT + 'warehouse:\n  type: sqlite\n' });
    expect(await failure(dir)).toBe(
      'hightouch-like.config.yaml:6: warehouse.type: unknown database type "sqlite". use one of: duckdb, postgres.',
    );
    dir = await project({ 'hightouch-like.config.yaml': PROJECT + 'state:\n  type: postgres\n' });
    expect(await failure(dir)).toContain('hightouch-like.config.yaml:5: state.url: required key is missing.');
  });

  it('unset environment variable, never printing values', async () => {
    const dir = await project({
      'hightouch-like.config.yaml': 'destinations:\n  out:\n    type: file\n    path: "${OUT_ROOT}/${OUT_DIR}"\n',
    });
    const line = await failure(dir, { OUT_ROOT: 'topsecret' });
    expect(line).toBe(
      'hightouch-like.config.yaml:4: destinations.out.path: environment variable OUT_DIR is not set. set OUT_DIR in the environment, or give a default: ${OUT_DIR:-value}.',
    );
    expect(line).not.toContain('topsecret');
  });

  it('unset environment variable in a sync file', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + '  phone: ${PHONE_COLUMN}\n' });
    expect(await failure(dir)).toContain('syncs/users.yaml:6: mapping.phone: environment variable PHONE_COLUMN is not set.');
  });

  it('malformed environment reference', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'description: "${not a name}"\n' });
    expect(await failure(dir)).toContain('syncs/users.yaml:6: description: malformed environment reference');
  });

  it('an enum value from the environment is masked', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + 'mode: ${MODE}\n' });
    const line = await failure(dir, { MODE: 'hunter2' });
    expect(line).toContain('syncs/users.yaml:6: mode: (value from the environment) is not allowed.');
    expect(line).not.toContain('hunter2');
  });

  it('primary key missing from both the sync and the model', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC.replace('primary_key: id\n', '') });
    const line = await failure(dir);
    expect(line).toBe(
      'syncs/users.yaml:1: primary_key: no primary key is set. add primary_key: <column> to syncs/users.yaml or to models/users.yaml.',
    );
  });

  it('batch_size above the connector maximum', async () => {
    const max = getConnector('file')!.defaults.maxBatchSize;
    const dir = await project({ 'syncs/users.yaml': SYNC + `batch_size: ${max + 1}\n` });
    expect(await failure(dir)).toContain(`syncs/users.yaml:6: batch_size: must be at most ${max} for a file destination.`);
    const dir2 = await project({ 'hightouch-like.config.yaml': PROJECT + `    batch_size: ${max + 1}\n` });
    expect(await failure(dir2)).toContain(`hightouch-like.config.yaml:5: destinations.out.batch_size: must be at most ${max}.`);
  });

  it('empty model, metadata without SQL', async () => {
    let dir = await project({ 'models/users.sql': '  -- nothing here\n\n' });
    expect(await failure(dir)).toBe('models/users.sql:1: the model is empty. write one SELECT statement.');
    // Several statements are the warehouse's parser's call, at validate: see test/sql-sandbox.test.ts.
    dir = await project({ 'models/people.yaml': 'primary_key: id\n' });
    expect(await failure(dir)).toContain('models/people.yaml: has no SQL file. create models/people.sql');
  });

  it('unknown key in model metadata', async () => {
    const dir = await project({ 'models/users.yaml': 'description: x\nprimary_keys: id\n' });
    expect(await failure(dir)).toBe('models/users.yaml:2: primary_keys: unknown key "primary_keys". did you mean "primary_key"?');
  });

  it('a sync defined twice (.yaml and .yml)', async () => {
    const dir = await project({ 'syncs/users.yml': SYNC });
    expect(await failure(dir)).toContain('syncs/users.yml: two files define "users"');
  });

  it('no project file', async () => {
    const dir = await project({ 'hightouch-like.config.yaml': null });
    expect(await failure(dir)).toContain('no hightouch-like.config.yaml in');
  });

  it("turns the connector's validateSync problems into errors at the field's line", async () => {
    const connector = getConnector('file')! as { validateSync?: unknown };
    const original = connector.validateSync;
    const seen: unknown[] = [];
    connector.validateSync = (target: unknown) => {
      seen.push(target);
      return [{ field: 'mapping.email', message: 'email cannot be written.' }];
    };
    try {
      const dir = await project({ 'syncs/users.yaml': SYNC + '  id: id\n' });
      expect(await failure(dir)).toBe('syncs/users.yaml:5: mapping.email: email cannot be written.');
      expect(seen[0]).toEqual({
        destination: { name: 'out', type: 'file', settings: { path: 'out' } },
        sync: { name: 'users', mode: 'upsert', keyField: 'id', fields: ['email', 'id'], settings: {} },
      });
    } finally {
      connector.validateSync = original;
    }
  });
});

describe('helpers', () => {
  it('isBlankSql sees only whitespace and comments as blank', () => {
    expect(isBlankSql('/* only */ -- comments\n  ')).toBe(true);
    expect(isBlankSql('-- a\nselect 1')).toBe(false);
    // Nested: the engines read all of it as a comment; reading less of it as one only refuses less.
    expect(isBlankSql('/* a /* b */ select 1 */')).toBe(false);
  });

  it('closest suggests plausible typos only', () => {
    expect(closest('batchsize', ['batch_size', 'mode'])).toBe('batch_size');
    expect(closest('Mode', ['batch_size', 'mode'])).toBe('mode');
    expect(closest('zzz', ['batch_size', 'mode'])).toBeUndefined();
    // Two swapped letters are one edit: short keys still get a suggestion.
    expect(closest('modle', ['model', 'mode', 'mapping'])).toBe('model');
    expect(closest('tpye', ['type'])).toBe('type');
  });

  it('follows symlinked files as a Kubernetes ConfigMap mounts them (..data a link to a folder)', async () => {
    const dir = await project({ 'syncs/users.yaml': null, 'models/users.sql': null });
    for (const folder of ['syncs', 'models']) {
      await mkdir(join(dir, folder, '..2026_11_26'), { recursive: true });
      await symlink('..2026_11_26', join(dir, folder, '..data'));
    }
    await writeFile(join(dir, 'syncs/..2026_11_26/users.yaml'), SYNC);
    await writeFile(join(dir, 'models/..2026_11_26/users.sql'), MODEL);
    await symlink('..data/users.yaml', join(dir, 'syncs/users.yaml'));
    await symlink('..data/users.sql', join(dir, 'models/users.sql'));
    const loaded = await loadProject(dir, {});
    expect(Object.keys(loaded.syncs)).toEqual(['users']);
    expect(loaded.models.users.sql).toBe(MODEL.trim());
  });

  it('keeps a key named __proto__ as a key', async () => {
    const dir = await project({ 'syncs/users.yaml': SYNC + '  __proto__: email\n' });
    const loaded = await loadProject(dir, {});
    expect(Object.keys(loaded.syncs.users.mapping)).toEqual(['email', '__proto__']);
  });
});

describe('schedule, through the CLI', () => {
  const schedules: Record<string, { yaml: string | null; shown: string }> = {
    absent: { yaml: null, shown: 'manual' },
    manual: { yaml: 'manual', shown: 'manual' },
    quarter: { yaml: '{ every: 15m }', shown: 'every 15m' },
    short_form: { yaml: '1h30m', shown: 'every 1h30m' },
    seconds: { yaml: '{ every: 90s }', shown: 'every 90s' },
    kentico_hourly: { yaml: '{ cron: "0 * * * *" }', shown: '0 * * * * UTC' },
    paris: { yaml: '{ cron: "30 2 * * 1-5", timezone: Europe/Paris }', shown: '30 2 * * 1-5 Europe/Paris' },
    cron_string: { yaml: '"*/10 * * * *"', shown: '*/10 * * * * UTC' },
    from_env: { yaml: '{ cron: "${HOURLY}" }', shown: '*** UTC' },
  };

  it('validate accepts every documented form, and status shows each schedule with its next slot', async () => {
    const files: Record<string, string> = { 'hightouch-like.config.yaml': PROJECT, 'models/users.sql': MODEL };
    for (const [name, { yaml }] of Object.entries(schedules))
      files[`syncs/${name}.yaml`] = SYNC + (yaml === null ? '' : `schedule: ${yaml}\n`);
    const p = await createProject(files);
    made.push(p.dir);
    const env = { HOURLY: '45 * * * *' };
    const validate = await p.cli(['validate'], env);
    expect(validate.code, validate.stderr).toBe(0);

    const before = Date.now();
    const status = await p.cli(['status', '--json'], env);
    const after = Date.now();
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { sync: string; schedule: string; next_run_at: string | null }[];
    expect(Object.fromEntries(rows.map((r) => [r.sync, r.schedule]))).toEqual(
      Object.fromEntries(Object.entries(schedules).map(([n, s]) => [n, s.shown])),
    );
    const next = Object.fromEntries(rows.map((r) => [r.sync, r.next_run_at === null ? null : Date.parse(r.next_run_at)]));
    expect([next.absent, next.manual]).toEqual([null, null]);
    // Epoch-anchored: the first multiple of 15 minutes after the moment status ran.
    expect(next.quarter! % 900_000).toBe(0);
    expect(next.quarter!).toBeGreaterThan(before);
    expect(next.quarter!).toBeLessThanOrEqual(after + 900_000);
    expect(new Date(next.kentico_hourly!).getUTCMinutes()).toBe(0);
    expect(next.kentico_hourly!).toBeLessThanOrEqual(after + 3_600_000);
    expect(next.paris!).toBeGreaterThan(before);

    const table = await p.cli(['status'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/\| schedule\s+\| next_run_at\s+\|/);
  });
});

describe('published schemas', () => {
  it('schemas/*.json equal the generated ones (run node dist/core/config/write-schemas.js)', async () => {
    for (const [name, text] of Object.entries(schemaFiles())) {
      const committed = await readFile(join(repoRoot, 'schemas', name), 'utf8').catch(() => '(missing)');
      expect(committed, `schemas/${name} is stale: npm run build && node dist/core/config/write-schemas.js`).toBe(text);
    }
  });

  it('are draft-07 and close every object', () => {
    const files = schemaFiles();
    const project = JSON.parse(files['project.schema.json']);
    const sync = JSON.parse(files['sync.schema.json']);
    expect(project.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(project.additionalProperties).toBe(false);
    expect(sync.additionalProperties).toBe(false);
    expect(sync.properties.format).toBeDefined();
  });
});
