/**
 * The raw limit of a plan: the bare DuckDB statement that computes the same three counts (added,
 * changed, removed) with one full outer join of the model and the snapshot, on the same files and with
 * the engine's row hash, in a process of its own.
 *
 *   node dist/bench/raw-plan.js <state.duckdb> <warehouse.duckdb> <narrow|wide>
 *
 * Prints {"ms", "added", "changed", "removed"}; `ms` is the statement alone, the process wall time
 * (open, attach, statement, close) is measured by the caller.
 */
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbPayloadSql, rowHashSql } from '../core/plan/stage-model.js';
import { mappingOf, type Shape } from './lib/dataset.js';

const [statePath, warehousePath, shape] = process.argv.slice(2);
const instance = await DuckDBInstance.create(statePath);
const connection = await instance.connect();
await connection.run(`attach '${warehousePath.replace(/'/g, "''")}' as warehouse (read_only)`);
const hash = rowHashSql(duckdbPayloadSql(mappingOf(shape as Shape), 'm'));
const started = performance.now();
const reader = await connection.runAndReadAll(`
  select
    count(*) filter (where s.primary_key is null) as added,
    count(*) filter (where m.pk is not null and s.primary_key is not null and m.row_hash <> s.row_hash) as changed,
    count(*) filter (where m.pk is null) as removed
  from (select cast(m.id as text) as pk, ${hash} as row_hash from warehouse.model m) m
  full outer join (select primary_key, row_hash from sync_snapshots where sync_name = 'bench') s
    on m.pk = s.primary_key`);
const ms = performance.now() - started;
const [added, changed, removed] = reader.getRows()[0].map(Number);
connection.closeSync();
instance.closeSync();
process.stdout.write(JSON.stringify({ ms, added, changed, removed }) + '\n');
