/**
 * How a PostgreSQL warehouse's rows reach the plan. With DuckDB state a plain read leaves PostgreSQL by
 * COPY as key and hash, and the payloads of the rows to send are read back by key (core/plan/stage-postgres.ts);
 * any other model, or a second read that differs, streams every row through a cursor. Keys and values with
 * commas, quotes, line breaks, a leading byte-order mark, an empty text beside a NULL, must arrive as they
 * left, both ways. With PostgreSQL state in the same database, unchanged rows are staged without their
 * payload: what the plan still needs of them (the value records are matched on) must be staged apart.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, logEvents, type TestProject } from './support/project.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const admin = usePgAdmin();
let counter = 0;
let project: TestProject | undefined;
let schema = '';
afterEach(async () => {
  await project?.remove();
  if (schema) await admin.query(`drop schema if exists ${schema} cascade`);
  project = undefined;
  schema = '';
});

const urlFor = (s: string) => `${PG_BASE}?options=${encodeURIComponent(`-c search_path=${s}`)}`;

/** Keys a CSV round trip could get wrong, each with a note that carries the same text. */
const HOSTILE = ['a,b', 'q"u""o', 'two\nlines', 'cr\r\nlf', '', ' lead', 'trail ', '"', '\\', 'NULL', '\\N', 'ünï ✓ 𝄞', '\t'];

async function setup(state: 'duckdb' | 'postgres', model: string, sync: string) {
  schema = `htl_staging_${process.pid}_${++counter}`;
  await admin.query(`create schema ${schema}`);
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: postgres, url: "\${PG_URL}" }
state: ${state === 'postgres' ? '{ type: postgres, url: "${PG_URL}" }' : '{ type: duckdb, path: state.duckdb }'}
destinations:
  files: { type: file, path: out }
  db: { type: postgres, url: "\${PG_URL}", schema: ${schema} }
`,
    'models/m.sql': model,
    'syncs/s.yaml': sync,
  });
  return { PG_URL: urlFor(schema) };
}

const sql = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A plain read (DuckDB state: key and hash, then the payloads read back by key) and a sorted one (read once). */
const SHAPES = [
  { shape: 'plain', order: '' },
  { shape: 'sorted', order: ' order by k' },
];

describe.each(['duckdb', 'postgres'] as const)('postgres warehouse, %s state', (state) => {
  // A plain read is read in as many parts as cores (stage-postgres.ts); one part and three as well.
  it.each([...SHAPES, { shape: 'plain, one part', order: '', parts: '1' }, { shape: 'plain, three parts', order: '', parts: '3' }])(
    'stages keys and values with commas, quotes, line breaks and empty text exactly, a NULL key as invalid ($shape)',
    async ({ order, parts }: { order: string; parts?: string }) => {
      const env: Record<string, string> = await setup(
        state,
        `select k, note from src${order}`,
        'model: m\ndestination: files\nprimary_key: k\nformat: jsonl\nmapping: { k: k, note: note }\n',
      );
      await admin.query(`create table ${schema}.src (k text, note text)`);
      const values = HOSTILE.map((k) => `(${sql(k)}, ${sql(`note ${k}`)})`).join(', ');
      await admin.query(`insert into ${schema}.src values ${values}, (null, 'no key'), ('empty note', ''), ('null note', null)`);
      if (parts) env.HIGHTOUCH_LIKE_PG_READ_PARTS = parts;

      const first = await project!.cli(['run', 's', '--json'], env);
      expect(first.code, first.stderr).toBe(2);
      expect(
        logEvents(first.stderr)
          .filter((e) => e.msg === 'invalid_row')
          .map((e) => [e.primary_key, e.reason]),
      ).toEqual([[null, 'null primary key']]);
      const lines = (await readFile(join(project!.dir, 'out/s.jsonl'), 'utf8')).trim().split('\n');
      const got = lines.map((l) => JSON.parse(l)).map((r) => ({ key: r.key, ...r.fields }));
      const expected = [
        ...HOSTILE.map((k) => ({ key: k, k, note: `note ${k}` })),
        { key: 'empty note', k: 'empty note', note: '' },
        { key: 'null note', k: 'null note', note: null },
      ];
      expect(got.sort((a, b) => (a.k < b.k ? -1 : 1))).toEqual(expected.sort((a, b) => (a.k < b.k ? -1 : 1)));

      // The same rows read again hash alike: nothing is sent, nothing looks removed.
      const plan = JSON.parse((await project!.cli(['plan', 's', '--json'], env)).stdout)[0];
      expect(plan).toMatchObject({ model_rows: HOSTILE.length + 3, added: 0, changed: 0, removed: 0, invalid: 1, planned: 0 });
    },
  );

  it.each(SHAPES)('stages a 17 MiB row and sends it whole ($shape)', async ({ order }) => {
    const env = await setup(
      state,
      `select k, body from src${order}`,
      'model: m\ndestination: files\nprimary_key: k\nformat: jsonl\nmapping: { k: k, body: body }\n',
    );
    await admin.query(`create table ${schema}.src (k integer, body text)`);
    await admin.query(`insert into ${schema}.src values (1, repeat('z', 17 * 1024 * 1024)), (2, 'short')`);
    const first = await project!.cli(['run', 's', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const got = (await readFile(join(project!.dir, 'out/s.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).fields);
    expect(got.map((r) => [r.k, r.body.length])).toEqual([
      [1, 17 * 1024 * 1024],
      [2, 5],
    ]);
    const plan = JSON.parse((await project!.cli(['plan', 's', '--json'], env)).stdout)[0];
    expect(plan).toMatchObject({ model_rows: 2, planned: 0 });
  });

  it('sends every row of a model that answers otherwise when read again (random keys), with its values', async () => {
    const env = await setup(
      state,
      'select (random() * 1e12)::bigint as id, email from users',
      'model: m\ndestination: files\nprimary_key: id\nformat: jsonl\nmapping: { email: email }\n',
    );
    await admin.query(`create table ${schema}.users (email text)`);
    await admin.query(`insert into ${schema}.users select 'u' || g || '@x.io' from generate_series(1, 500) g`);
    const first = await project!.cli(['run', 's', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)[0]).toMatchObject({ sent: 500, succeeded: 500 });
    const emails = (await readFile(join(project!.dir, 'out/s.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).fields.email);
    expect(new Set(emails).size).toBe(500);
    expect(emails.every((e) => /^u\d+@x\.io$/.test(e))).toBe(true);
  });

  it('keeps a byte-order mark that begins a key (DuckDB drops one at the start of an unquoted CSV value)', async () => {
    const env = await setup(
      state,
      'select k, v from t',
      'model: m\ndestination: files\nprimary_key: k\nformat: jsonl\nmapping: { v: v }\n',
    );
    await admin.query(`create table ${schema}.t (k text, v text)`);
    await admin.query(`insert into ${schema}.t values (E'\\uFEFFabc', 'bom'), ('abc', 'plain')`);
    const first = await project!.cli(['run', 's', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const keys = (await readFile(join(project!.dir, 'out/s.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).key);
    expect(keys.sort()).toEqual(['abc', '\uFEFFabc']);
    expect(JSON.parse((await project!.cli(['plan', 's', '--json'], env)).stdout)[0]).toMatchObject({ planned: 0, removed: 0 });
  });

  it('reports a key an unchanged row shares with a new row as duplicate, and sends neither', async () => {
    const env = await setup(
      state,
      'select id, email from people',
      'model: m\ndestination: files\nprimary_key: id\nformat: jsonl\nmapping: { email: email }\n',
    );
    await admin.query(`create table ${schema}.people (id integer, email text)`);
    await admin.query(`insert into ${schema}.people values (1, 'one@x.io'), (2, 'two@x.io')`);
    expect((await project!.cli(['run', 's', '--json'], env)).code).toBe(0);
    await admin.query(`insert into ${schema}.people values (2, 'other@x.io')`);
    const second = await project!.cli(['run', 's', '--json'], env);
    expect(second.code, second.stderr).toBe(2);
    expect(JSON.parse(second.stdout)[0]).toMatchObject({ invalid: 2, sent: 0 });
    expect(
      logEvents(second.stderr)
        .filter((e) => e.msg === 'invalid_row')
        .map((e) => [e.primary_key, e.reason]),
    ).toEqual([
      ['2', 'duplicate primary key'],
      ['2', 'duplicate primary key'],
    ]);
  });

  it('finds a new row sharing the external_id of an unchanged one, and sends neither', async () => {
    const env = await setup(
      state,
      'select id, ext, email from people',
      'model: m\ndestination: db\nprimary_key: id\ntable: contacts\nexternal_id: ext\nmapping: { ext: ext, email: email }\n',
    );
    await admin.query(`create table ${schema}.contacts (ext text primary key, email text)`);
    await admin.query(`create table ${schema}.people (id integer, ext text, email text)`);
    await admin.query(`insert into ${schema}.people values (1, 'x', 'one@x.io'), (2, 'y', 'two@x.io')`);
    const first = await project!.cli(['run', 's', '--json'], env);
    expect(first.code, first.stderr).toBe(0);

    // Row 2 is unchanged; row 3 is new and claims its record.
    await admin.query(`insert into ${schema}.people values (3, 'y', 'three@x.io')`);
    const second = await project!.cli(['run', 's', '--json'], env);
    expect(second.code, second.stderr).toBe(2);
    expect(
      logEvents(second.stderr)
        .filter((e) => e.msg === 'invalid_row')
        .map((e) => [e.primary_key, e.reason])
        .sort(),
    ).toEqual([
      ['2', 'duplicate ext'],
      ['3', 'duplicate ext'],
    ]);
    expect((await admin.query(`select ext, email from ${schema}.contacts order by ext`)).rows).toEqual([
      { ext: 'x', email: 'one@x.io' },
      { ext: 'y', email: 'two@x.io' },
    ]);
  });
});

/** A plain read of a one-row table into DuckDB state: the COPY path, which stages through a temp directory. */
async function oneRowPlainRead() {
  const env = await setup(
    'duckdb',
    'select k from src',
    'model: m\ndestination: files\nprimary_key: k\nformat: jsonl\nmapping: { k: k }\n',
  );
  await admin.query(`create table ${schema}.src (k integer)`);
  await admin.query(`insert into ${schema}.src values (1)`);
  return env;
}

it('names the temp directory, not the model, when it cannot stage there', async () => {
  const env = await oneRowPlainRead();
  const result = await project!.cli(['run', 's', '--json'], { ...env, TMPDIR: join(project!.dir, 'missing') });
  expect(result.code).not.toBe(0);
  const report = JSON.parse(result.stdout)[0];
  expect(report.error).toMatch(/cannot make a temp directory for the model's rows: ENOENT.*point TMPDIR at a writable directory/);
  expect(report.error).not.toMatch(/SQL error|models\/m\.sql/);
});

it("removes the temp directories of plans killed before they could (a dead process's pid), and nothing else", async () => {
  const env = await oneRowPlainRead();
  const tmp = join(project!.dir, 'tmp');
  const outside = join(project!.dir, 'outside');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'keep.txt'), 'x');
  // A pid no process has: a child that has exited.
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  const dead = child.pid!;
  const orphan = join(tmp, `hightouch-like-${dead}-AbC123`);
  await mkdir(orphan, { recursive: true });
  await writeFile(join(orphan, 'model.csv'), '"1","h"\n');
  const live = join(tmp, `hightouch-like-${process.pid}-AbC123`);
  await mkdir(live);
  await symlink(outside, join(tmp, `hightouch-like-${dead}-link`));
  await writeFile(join(tmp, `hightouch-like-${dead}-file`), 'x');
  await mkdir(join(tmp, `other-${dead}-AbC123`));
  const result = await project!.cli(['run', 's', '--json'], { ...env, TMPDIR: tmp });
  expect(result.code, result.stderr).toBe(0);
  expect((await readdir(tmp)).sort()).toEqual(
    [`hightouch-like-${process.pid}-AbC123`, `hightouch-like-${dead}-file`, `hightouch-like-${dead}-link`, `other-${dead}-AbC123`].sort(),
  );
  expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('x');
});
