/**
 * The raw limit of a plan over a PostgreSQL warehouse: the same three counts (added, changed, removed)
 * from one full outer join of the model with the previous run's hashes (`bench_prev`, seeded by
 * lib/pg-dataset.ts), in a process of its own.
 * - `pg-pg`: one PostgreSQL statement on `hash_record_extended` of the mapped columns;
 * - `pg-duckdb`: the model moved out by `COPY … TO STDOUT (format csv)` (psql), read by DuckDB's
 *   `read_csv` into the state file's session and joined on DuckDB's `hash(c1, …, cN)`.
 *
 *   node dist/bench/raw-pg-plan.js <pg-pg|pg-duckdb> <rows> <state.duckdb>
 *
 * Prints {"ms", "added", "changed", "removed"}; `ms` is the work after connecting.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import pg from 'pg';
import { columnsOf } from './lib/dataset.js';
import { pgUrl, psql, RAW_CSV_COLUMNS } from './lib/pg-dataset.js';

const [pairing, rowsText, statePath] = process.argv.slice(2);
const rows = Number(rowsText);
const columns = columnsOf('narrow').map(([c]) => c);
const counts = (h: string, model: string) => `
  select
    count(*) filter (where s.pk is null) as added,
    count(*) filter (where m.pk is not null and s.pk is not null and m.h <> s.h) as changed,
    count(*) filter (where m.pk is null) as removed
  from (select cast(m.id as varchar) as pk, ${h} as h from ${model} m) m
  full outer join bench_prev s on m.pk = s.pk`;

let result: number[];
let ms: number;
if (pairing === 'pg-pg') {
  const client = new pg.Client(pgUrl(rows));
  await client.connect();
  const started = performance.now();
  const answer = await client.query({
    text: counts(`hash_record_extended(row(${columns.map((c) => `m.${c}`).join(', ')}), 0)`, 'model'),
    rowMode: 'array',
  });
  ms = performance.now() - started;
  result = (answer.rows[0] as string[]).map(Number);
  await client.end();
} else {
  const instance = await DuckDBInstance.create(statePath);
  const connection = await instance.connect();
  const csv = join(tmpdir(), `htl-raw-pg-${process.pid}.csv`);
  const started = performance.now();
  await psql(pgUrl(rows), `\\copy (select * from model) to '${csv}' (format csv)`);
  const reader = await connection.runAndReadAll(
    counts(`hash(${columns.map((c) => `m.${c}`).join(', ')})`, `read_csv('${csv}', columns = ${RAW_CSV_COLUMNS}, header = false)`),
  );
  ms = performance.now() - started;
  result = reader.getRows()[0].map(Number);
  await rm(csv, { force: true });
  connection.closeSync();
  instance.closeSync();
}
const [added, changed, removed] = result;
process.stdout.write(JSON.stringify({ ms, added, changed, removed }) + '\n');
