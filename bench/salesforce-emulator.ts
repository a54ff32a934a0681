/**
 * The Salesforce emulator of the tests (emulators/salesforce/emulator.ts) as a process of its own
 * for the bench, with an object `Bench__c` holding a custom field per bench model column (typed as the
 * narrow model's columns are: int, currency, boolean, datetime, email; text for the others).
 *
 *   node dist/bench/salesforce-emulator.js <narrow|wide>   prints {"port", "control"} once listening
 *
 * The control port takes POST /__config {latencyMs} (also resets the counters) and GET /__stats.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSalesforceEmulator, type FieldSpec } from '../emulators/salesforce/emulator.js';
import { BENCH_SF_TOKEN, SF_EXTERNAL_ID, SF_OBJECT, mappingOf, type Shape } from './lib/dataset.js';

const shape = (process.argv[2] ?? 'narrow') as Shape;
/** The narrow model's typed columns get typed fields, so every run coerces dates, numbers and booleans. */
const TYPED: Record<string, FieldSpec> = {
  Email__c: { name: 'Email__c', type: 'email', length: 80 },
  Score__c: { name: 'Score__c', type: 'int' },
  Ltv__c: { name: 'Ltv__c', type: 'currency', precision: 18, scale: 2 },
  Active__c: { name: 'Active__c', type: 'boolean' },
  Created_at__c: { name: 'Created_at__c', type: 'datetime' },
};
const fields: FieldSpec[] = Object.keys(mappingOf(shape, 'salesforce')).map((name) =>
  name === SF_EXTERNAL_ID
    ? { name, length: 80, externalId: true, idLookup: true, unique: true, custom: true }
    : { ...(TYPED[name] ?? { name, length: 255 }), custom: true },
);
const emulator = await startSalesforceEmulator({
  accessToken: BENCH_SF_TOKEN,
  apiLimit: 1_000_000_000,
  objects: [{ name: SF_OBJECT, keyPrefix: 'a00', fields }],
});

const control = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/__config') {
      const config = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { latencyMs?: number };
      emulator.latencyMs = config.latencyMs ?? 0;
      emulator.resetStats();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests: emulator.stats.requests, rows: emulator.stats.writeRecords, calls: emulator.stats.writeCalls }));
  });
});
control.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: emulator.port, control: (control.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  control.close();
  void emulator.close().finally(() => process.exit(0));
});
