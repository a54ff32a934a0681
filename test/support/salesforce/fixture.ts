/**
 * "A Salesforce emulator" as a test or a bench uses it: started with the credentials it accepts, and
 * the env block a project's config reads them from, `${SF_URL}`, `${SF_TOKEN}`, `${SF_REFRESH}`,
 * `${SF_SECRET}` (or under another prefix, e.g. `BENCH_SF`). Close it with `close()`.
 */
import {
  DEFAULT_ACCESS_TOKEN,
  startSalesforceEmulator,
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
} from '../../../emulators/salesforce/emulator.js';

export interface SalesforceCredentials {
  accessToken?: string;
  refreshToken?: string;
  clientSecret?: string;
}

export interface SalesforceFixtureOptions extends SalesforceEmulatorOptions {
  /** Env names are `${envPrefix}_URL`, `_TOKEN`, `_REFRESH`, `_SECRET`. Default: `SF`. */
  envPrefix?: string;
}

export interface SalesforceFixture extends SalesforceEmulator {
  /** The env block for a project's CLI: the URL and every credential the emulator was started with. */
  env(): Record<string, string>;
}

/**
 * The env block for an emulator at `url`: `_REFRESH` and `_SECRET` only when set. A trailing slash
 * is dropped, as jsforce appends `/services/...` to the instance URL.
 */
export function salesforceEnv(url: string, credentials: SalesforceCredentials, envPrefix = 'SF'): Record<string, string> {
  const env: Record<string, string> = {
    [`${envPrefix}_URL`]: url.replace(/\/$/, ''),
    [`${envPrefix}_TOKEN`]: credentials.accessToken ?? DEFAULT_ACCESS_TOKEN,
  };
  if (credentials.refreshToken !== undefined) env[`${envPrefix}_REFRESH`] = credentials.refreshToken;
  if (credentials.clientSecret !== undefined) env[`${envPrefix}_SECRET`] = credentials.clientSecret;
  return env;
}

export async function startSalesforceFixture(options: SalesforceFixtureOptions = {}): Promise<SalesforceFixture> {
  const { envPrefix, ...emulatorOptions } = options;
  const emulator = await startSalesforceEmulator(emulatorOptions);
  return Object.assign(emulator, { env: () => salesforceEnv(emulator.url, options, envPrefix) });
}
