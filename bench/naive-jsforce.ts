/**
 * The script a user would write instead of a sync engine: read the model, then upsert it through
 * jsforce 200 records at a time, one call after the other.
 *
 *   node dist/bench/naive-jsforce.js <warehouse.duckdb> <narrow|wide> <instance url> <rows>
 *
 * The token comes from $BENCH_SF_TOKEN. The clock covers the upsert loop only (not reading the model).
 * Prints {"ms", "rows", "calls", "failed"}.
 */
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import jsforce from 'jsforce';
import { SF_EXTERNAL_ID, SF_OBJECT, mappingOf, type Shape } from './lib/dataset.js';

const [warehousePath, shape, instanceUrl, rowsText] = process.argv.slice(2);
const instance = await DuckDBInstance.create(warehousePath, { access_mode: 'READ_ONLY' });
const connection = await instance.connect();
const mapping = Object.entries(mappingOf(shape as Shape, 'salesforce'));
// Salesforce takes a datetime only in ISO 8601 (the engine coerces it so): the loop a user would write does too.
const sfValue = (column: string) => (column === 'created_at' ? `strftime("created_at", '%Y-%m-%dT%H:%M:%SZ')` : `"${column}"`);
const reader = await connection.runAndReadAll(
  `select ${mapping.map(([field, column]) => `${sfValue(column)} as "${field}"`).join(', ')} from model where id <= ${Number(rowsText)} order by cast(id as text)`,
);
const records = reader.getRowObjectsJson() as Array<Record<string, unknown>>;
connection.closeSync();
instance.closeSync();

const conn = new jsforce.Connection({
  instanceUrl: instanceUrl.replace(/\/$/, ''),
  accessToken: process.env.BENCH_SF_TOKEN,
  version: '62.0',
});
let calls = 0;
let failed = 0;
const started = performance.now();
for (let i = 0; i < records.length; i += 200) {
  const results = await conn.sobject(SF_OBJECT).upsert(records.slice(i, i + 200) as never, SF_EXTERNAL_ID, { allOrNone: false });
  calls++;
  failed += (Array.isArray(results) ? results : [results]).filter((r) => !r.success).length;
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, rows: records.length, calls, failed }) + '\n');
