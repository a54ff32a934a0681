/**
 * The raw write limit: sends already-built payloads, the same bodies the engine sends (same rows,
 * batch size and JSON shape), with the same number of requests in flight, from one process doing
 * nothing else. Payloads are built from the model before the clock starts.
 *
 *   node dist/bench/raw-writer.js <warehouse.duckdb> <narrow|wide> <url> <rows> <batch> <concurrency> [http|salesforce]
 *
 * http: POST `{"sync","operation","rows":[{"key","fields"}]}` to the bench sink. salesforce: the sObject
 * Collections upsert jsforce sends, `PATCH {url}/services/data/v62.0/composite/sobjects/Bench__c/External_Key__c`
 * with the token from $BENCH_SF_TOKEN. Prints {"ms", "rows", "calls"}.
 */
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { request } from 'undici';
import { duckdbPayloadSql } from '../core/plan/stage-model.js';
import { SF_EXTERNAL_ID, SF_OBJECT, mappingOf, type Shape, type Target } from './lib/dataset.js';

const [warehousePath, shape, url, rowsText, batchText, concurrencyText, targetText] = process.argv.slice(2);
const rows = Number(rowsText);
const batch = Number(batchText);
const concurrency = Number(concurrencyText);
const target = (targetText ?? 'http') as Target;

const instance = await DuckDBInstance.create(warehousePath, { access_mode: 'READ_ONLY' });
const connection = await instance.connect();
const mapping = mappingOf(shape as Shape, target);
// The engine sends rows in primary-key text order.
const reader = await connection.runAndReadAll(
  `select cast(m.id as text) as k, ${duckdbPayloadSql(mapping, 'm')} as p from model m where m.id <= ${rows} order by k`,
);
const all = reader.getRows();
const bodies: string[] = [];
// Salesforce takes a datetime only in ISO 8601, as the engine's coercion sends it.
const sfDateTimes = (payload: string) => payload.replace(/"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)"/g, '"$1T$2Z"');
const attributes = `"attributes":${JSON.stringify({ type: SF_OBJECT })},`;
for (let i = 0; i < all.length; i += batch) {
  const part = all.slice(i, i + batch);
  bodies.push(
    target === 'salesforce'
      ? `{"allOrNone":false,"records":[${part.map(([, p]) => `{${attributes}${sfDateTimes(p as string).slice(1)}`).join(',')}]}`
      : `{"sync":"bench","operation":"upsert","rows":[${part.map(([k, p]) => `{"key":${JSON.stringify(k)},"fields":${p as string}}`).join(',')}]}`,
  );
}
connection.closeSync();
instance.closeSync();

const endpoint =
  target === 'salesforce' ? `${url.replace(/\/$/, '')}/services/data/v62.0/composite/sobjects/${SF_OBJECT}/${SF_EXTERNAL_ID}` : url;
const options =
  target === 'salesforce'
    ? { method: 'PATCH' as const, headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.BENCH_SF_TOKEN}` } }
    : { method: 'POST' as const, headers: { 'content-type': 'application/json' } };

let next = 0;
let calls = 0;
// undici's `request`, as the engine's http destination uses: the fastest client Node has here, so the
// baseline stays the wire's limit (`fetch` took about a third more CPU per call).
async function lane() {
  while (next < bodies.length) {
    const body = bodies[next++];
    const response = await request(endpoint, { ...options, body });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}: ${text.slice(0, 200)}`);
    calls++;
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, rows: all.length, calls }) + '\n');
