/**
 * A PostgreSQL model read in parts at once (core/db/warehouse.ts `readInParts`, used by the plan's COPY
 * into DuckDB state): every part reads the snapshot the first session exported, so a write committed
 * while the parts start is seen by none of them, and together the parts give each row exactly once.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { ModelConfig, ProjectConfig } from '../core/config/types.js';
import { openWarehouse, PostgresWarehouse } from '../core/db/warehouse.js';
import { PG_BASE, usePgAdmin } from './support/postgres-admin.js';

const admin = usePgAdmin();
const schema = `htl_parts_${process.pid}`;
let dir = '';
afterEach(async () => {
  await admin.query(`drop schema if exists ${schema} cascade`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const model: ModelConfig = { name: 'm', file: 'models/m.sql', sql: 'select id, name from t' };

async function open(): Promise<PostgresWarehouse> {
  const url = `${PG_BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const project = { dir: '.', file: 'hightouch-like.config.yaml', warehouse: { type: 'postgres', url } } as unknown as ProjectConfig;
  const warehouse = await openWarehouse(project);
  expect(warehouse).toBeInstanceOf(PostgresWarehouse);
  return warehouse as PostgresWarehouse;
}

/** The ids of part `part` of 2, as the plan splits them (stage-postgres.ts `partRows`). */
const partQuery = (part: number) =>
  `select m.id from hightouch_like_model m where coalesce((hashtext(m.id::text) & 2147483647) % 2, 0) = ${part}`;

it('reads every part from the snapshot the first session exported, each row once', async () => {
  await admin.query(`create schema ${schema}`);
  await admin.query(`create table ${schema}.t (id integer, name text)`);
  await admin.query(`insert into ${schema}.t select i, 'n' || i from generate_series(1, 200) i`);
  await admin.query(`insert into ${schema}.t values (null, 'no key')`);
  dir = await mkdtemp(join(tmpdir(), 'htl-parts-'));
  const warehouse = await open();
  try {
    // Committed after the export, before the other session imports the snapshot: a session that took
    // its own snapshot would see these rows, and lose the deleted ones.
    const parts = await warehouse.readInParts(model, 2, async () => {
      await admin.query(`insert into ${schema}.t select i, 'late' from generate_series(201, 260) i`);
      await admin.query(`delete from ${schema}.t where id <= 50`);
    });
    expect(parts).not.toBeNull();
    const files = [0, 1].map((part) => join(dir, `part-${part}.csv`));
    await Promise.all(files.map((file, part) => parts!.copy(part, partQuery(part), file)));
    const streamed: string[] = [];
    for await (const rows of parts!.stream(1, partQuery(1), 7)) streamed.push(...rows.map((r) => String(r.id)));
    await parts!.close();

    const ids = await Promise.all(files.map(async (file) => (await readFile(file, 'utf8')).split('\n').slice(0, -1)));
    // Both parts hold rows; the null key is in part 0 (NULL is an empty line).
    expect(ids[0].length).toBeGreaterThan(0);
    expect(ids[1].length).toBeGreaterThan(0);
    expect(ids[0]).toContain('');
    const all = [...ids[0], ...ids[1]].filter((id) => id !== '').map((id) => Number(id.replaceAll('"', '')));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // The cursor on the other session reads that snapshot too.
    expect(streamed.sort()).toEqual(ids[1].map((id) => id.replaceAll('"', '')).sort());
    // The warehouse's own session is free again, and sees the writes.
    expect(Number((await warehouse.probe(`select count(*) from ${schema}.t`)) as string)).toBe(211);
  } finally {
    await warehouse.close();
  }
});
