/**
 * The Salesforce emulator as a process of its own, holding `rows` Contacts (LastName, FirstName, Email,
 * Phone) stamped an hour ago, for the extract benchmark.
 *
 *   node dist/bench/extract-emulator.js <rows>   prints {"port"} once listening; SIGTERM stops it
 */
import { startSalesforceEmulator } from '../emulators/salesforce/emulator.js';
import { BENCH_SF_TOKEN } from './lib/dataset.js';

const rows = Number(process.argv[2] ?? 100_000);
const emulator = await startSalesforceEmulator({ accessToken: BENCH_SF_TOKEN, apiLimit: 1_000_000_000 });
emulator.org.clock.set(Date.now() - 3_600_000);
emulator.org.seed(
  'Contact',
  Array.from({ length: rows }, (_, i) => ({
    LastName: `Last${i}`,
    FirstName: `First${i}`,
    Email: `c${i}@example.com`,
    Phone: `+1-555-${i}`,
  })),
);
emulator.org.clock.useRealTime();
process.stdout.write(`${JSON.stringify({ port: emulator.port })}\n`);
process.on('SIGTERM', () => {
  void emulator.close().finally(() => process.exit(0));
});
