/**
 * The raw limit of a plan: the bare DuckDB statement that computes the same three counts (added,
 * changed, removed) with one full outer join of the model and the previous run's hashes, on the same
 * files, in a process of its own. Two hashes:
 * - `values`: DuckDB's 64-bit `hash(c1, …, cN)` of the mapped columns, the fastest diff the database
 *   can do (the new baseline);
 * - `md5json`: md5 of each row's payload JSON, the engine's row hash before migration 14.
 * Both read `bench_prev` (seeded with the snapshot, see dataset.ts), keyed by the key as text as the
 * engine's snapshot is.
 *
 *   node dist/bench/raw-plan.js <state.duckdb> <warehouse.duckdb> <narrow|wide> <values|md5json>
 *
 * Prints {"ms", "added", "changed", "removed"}; `ms` is the statement alone, the process wall time
 * (open, attach, statement, close) is measured by the caller.
 */
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { duckdbPayloadSql } from '../core/plan/stage-model.js';
import { legacyHashSql } from '../core/plan/row-hash.js';
import { mappingOf, RAW_PREV_TABLE, rawValuesHashSql, type Shape } from './lib/dataset.js';

const [statePath, warehousePath, shape, hashKind] = process.argv.slice(2);
const instance = await DuckDBInstance.create(statePath);
const connection = await instance.connect();
await connection.run(`attach '${warehousePath.replace(/'/g, "''")}' as warehouse (read_only)`);
const values = hashKind === 'values';
const hash = values ? rawValuesHashSql(shape as Shape, 'm') : legacyHashSql(duckdbPayloadSql(mappingOf(shape as Shape), 'm'));
const started = performance.now();
const reader = await connection.runAndReadAll(`
  select
    count(*) filter (where s.pk is null) as added,
    count(*) filter (where m.pk is not null and s.pk is not null and m.h <> s.h) as changed,
    count(*) filter (where m.pk is null) as removed
  from (select cast(m.id as text) as pk, ${hash} as h from warehouse.model m) m
  full outer join (select pk, ${values ? 'h' : 'md5'} as h from ${RAW_PREV_TABLE}) s
    on m.pk = s.pk`);
const ms = performance.now() - started;
const [added, changed, removed] = reader.getRows()[0].map(Number);
connection.closeSync();
instance.closeSync();
process.stdout.write(JSON.stringify({ ms, added, changed, removed }) + '\n');
