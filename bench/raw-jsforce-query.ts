/**
 * The loop a user would write instead of an extract: jsforce `query`, then `queryMore` until done,
 * counting the records (nothing is stored: the baseline is the read alone).
 *
 *   node dist/bench/raw-jsforce-query.js <instance url>   token from $BENCH_SF_TOKEN
 *
 * Prints {"ms", "rows", "calls"}.
 */
import { performance } from 'node:perf_hooks';
import jsforce from 'jsforce';

const conn = new jsforce.Connection({
  instanceUrl: process.argv[2].replace(/\/$/, ''),
  accessToken: process.env.BENCH_SF_TOKEN,
  version: '62.0',
});
const started = performance.now();
let calls = 1;
let result = await conn.query<Record<string, unknown>>('SELECT Id, SystemModstamp, LastName, FirstName, Email, Phone FROM Contact');
let rows = result.records.length;
while (!result.done && result.nextRecordsUrl) {
  result = await conn.queryMore<Record<string, unknown>>(result.nextRecordsUrl);
  rows += result.records.length;
  calls++;
}
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ ms, rows, calls })}\n`);
