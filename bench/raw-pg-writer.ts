/**
 * The raw write limit of a PostgreSQL destination: the same upsert the engine makes, from a client doing
 * nothing else. Rows are read from the PostgreSQL warehouse before the clock starts; then `concurrency`
 * connections each send multi-row `INSERT … VALUES … ON CONFLICT (key) DO UPDATE` statements of `batch`
 * rows (parameters bound as text, the column types cast them), one statement at a time per connection.
 *
 *   node dist/bench/raw-pg-writer.js <warehouse url> <destination url> <schema.table> <rows> <batch> <concurrency>
 *
 * Prints {"ms", "rows", "calls"}.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { columnsOf, mappingOf } from './lib/dataset.js';

const [warehouseUrl, destinationUrl, tableName, rowsText, batchText, concurrencyText] = process.argv.slice(2);
const rows = Number(rowsText);
const batch = Number(batchText);
const concurrency = Number(concurrencyText);
const mapping = mappingOf('narrow');
const fields = Object.keys(mapping);
const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

const source = new pg.Client(warehouseUrl);
await source.connect();
// Text as PostgreSQL renders each value; the destination casts it back to the column's type.
const selected = columnsOf('narrow')
  .map(([c]) => `${quoted(c)}::text`)
  .join(', ');
const all = (await source.query({ text: `select ${selected} from model where id <= ${rows} order by id::text`, rowMode: 'array' }))
  .rows as string[][];
await source.end();

const [schema, table] = tableName.split('.');
const target = `${quoted(schema)}.${quoted(table)}`;
const key = fields[0];
const updates = fields
  .slice(1)
  .map((f) => `${quoted(f)} = excluded.${quoted(f)}`)
  .join(', ');
const statements: Array<{ text: string; values: string[] }> = [];
for (let i = 0; i < all.length; i += batch) {
  const part = all.slice(i, i + batch);
  const tuples = part.map((_, r) => `(${fields.map((_, c) => `$${r * fields.length + c + 1}`).join(', ')})`);
  statements.push({
    text: `insert into ${target} (${fields.map(quoted).join(', ')}) values ${tuples.join(', ')} on conflict (${quoted(key)}) do update set ${updates}`,
    values: part.flat(),
  });
}

const clients = await Promise.all(
  Array.from({ length: concurrency }, async () => {
    const client = new pg.Client(destinationUrl);
    await client.connect();
    return client;
  }),
);
let next = 0;
let calls = 0;
const started = performance.now();
await Promise.all(
  clients.map(async (client) => {
    while (next < statements.length) {
      await client.query(statements[next++]);
      calls++;
    }
  }),
);
const ms = performance.now() - started;
await Promise.all(clients.map((c) => c.end()));
process.stdout.write(JSON.stringify({ ms, rows: all.length, calls }) + '\n');
