/**
 * `emulate salesforce [--port 8787] [--seed demo] [--host 127.0.0.1]`: the loopback Salesforce emulator
 * the tests use (emulators/salesforce, WIRE.md), started for developing syncs with no org. Prints its
 * URL and the env variables a project reads it from, then serves until SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { demoObjects, seedDemo } from '../../../emulators/salesforce/demo-seed.js';
import { startSalesforceEmulator } from '../../../emulators/salesforce/emulator.js';
import { UserError } from '../../../shared/errors.js';
import { print } from '../context.js';

export interface EmulateOptions {
  port?: string;
  host?: string;
  seed?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function emulateCommand(system: string, options: EmulateOptions): Promise<number> {
  if (system !== 'salesforce') {
    throw new UserError(`cannot emulate "${system}"`, { field: 'emulate', hint: 'the one emulator is: salesforce.' });
  }
  const port = options.port === undefined ? 8787 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`--port ${options.port} is not a TCP port`, { field: '--port', hint: 'give a number from 0 to 65535.' });
  }
  const host = options.host ?? '127.0.0.1';
  // An emulator accepts one fixed token and holds whatever is written to it: never on a public address.
  if (!LOOPBACK.has(host)) throw new UserError(`--host ${host} is not a loopback address`, { field: '--host', hint: 'use 127.0.0.1.' });
  if (options.seed !== undefined && options.seed !== 'demo') {
    throw new UserError(`--seed ${options.seed} is not a known seed`, { field: '--seed', hint: 'the one seed is: demo.' });
  }
  const accessToken = `emulator-${randomBytes(12).toString('hex')}`;
  const emulator = await startSalesforceEmulator({ host, port, accessToken, objects: options.seed === 'demo' ? demoObjects : undefined });
  if (options.seed === 'demo') seedDemo(emulator.org);
  print(
    [
      `Salesforce emulator listening on ${emulator.url} (objects: ${emulator.org
        .sobjects()
        .map((s) => s.spec.name)
        .join(', ')})`,
      'Give a project these variables (instance_url: ${SF_URL}, access_token: ${SF_TOKEN}, api_version: 62.0):',
      `  export SF_URL=${emulator.url}`,
      `  export SF_TOKEN=${accessToken}`,
      'Records live in memory until the emulator stops (SIGTERM or Ctrl-C).',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await emulator.close();
  return 0;
}
