/**
 * How both sides of the Salesforce connector reach an org: `instance_url`, `access_token` (from ${ENV}),
 * optionally `refresh_token` + `client_id` (+ `client_secret`, `login_url`) to refresh it, and `api_version`.
 * A destination (`destinations:`) and a source (`sources:`) read the same keys with the same rules.
 */
import type { SettingsReader } from '../kit/settings.js';

export const DEFAULT_API_VERSION = '62.0';
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** Upserts through sObject Collections (PATCH /composite/sobjects/{T}/{field}) exist from v46.0. */
const MIN_API_VERSION = 46;

export interface SalesforceOAuth {
  refreshToken: string;
  clientId: string;
  clientSecret?: string;
  loginUrl: string;
}

export interface SalesforceCredentials {
  instanceUrl: string;
  accessToken: string;
  /** Set when the access token can be refreshed; jsforce then refreshes on a 401 and replays the call once. */
  oauth: SalesforceOAuth | null;
  apiVersion: string;
  /** Tokens and the client secret, masked out of every message. */
  secrets: string[];
}

/** The JSON Schema of the connection keys `readSalesforceCredentials` reads, for destinations and sources alike. */
export const CREDENTIAL_SETTINGS_PROPERTIES = {
  instance_url: { type: 'string', minLength: 1, description: "The org's URL, e.g. https://acme.my.salesforce.com." },
  access_token: { type: 'string', minLength: 1, description: 'OAuth access token, from ${ENV} only, e.g. ${SF_ACCESS_TOKEN}.' },
  refresh_token: {
    type: 'string',
    minLength: 1,
    description: 'OAuth refresh token, from ${ENV} only; with client_id, an expired access token is refreshed once and the call replayed.',
  },
  client_id: { type: 'string', minLength: 1, description: "The connected app's consumer key, needed with refresh_token." },
  client_secret: {
    type: 'string',
    minLength: 1,
    description: "The connected app's consumer secret (from ${ENV} only), if it requires one.",
  },
  login_url: { type: 'string', minLength: 1, description: `Where tokens are refreshed. Default: ${DEFAULT_LOGIN_URL}` },
  api_version: { type: ['string', 'number'], description: `REST API version, at least 46.0. Default: ${DEFAULT_API_VERSION}` },
} as const;

/** `62.0` is read by YAML as the number 62, so numbers are accepted and written back with one decimal. */
export function apiVersionOf(value: unknown): string | undefined {
  if (value === undefined) return DEFAULT_API_VERSION;
  const version = typeof value === 'number' ? value.toFixed(1) : value;
  if (typeof version !== 'string' || !/^\d{2,3}\.0$/.test(version) || Number(version) < MIN_API_VERSION) return undefined;
  return version;
}

/** Reads the connection keys of one `destinations:` or `sources:` entry; `extraSecrets` are masked too. */
export function readSalesforceCredentials(settings: SettingsReader, extraSecrets: readonly string[] = []): SalesforceCredentials {
  const instanceUrl = settings.optionalString('instance_url');
  if (!instanceUrl || !/^https?:\/\/[^/]+/.test(instanceUrl)) {
    throw settings.invalid("instance_url must be the org's https:// URL, e.g. https://acme.my.salesforce.com");
  }
  // jsforce refuses Lightning UI hosts: the API lives on the my.salesforce.com host.
  if (/\.lightning\.force\.com/.test(instanceUrl)) {
    throw settings.invalid('instance_url must be the API host (…my.salesforce.com), not the Lightning one (…lightning.force.com)');
  }
  const accessToken = settings.string('access_token', { problem: 'is required (give it as ${SF_ACCESS_TOKEN})' });
  const apiVersion = apiVersionOf(settings.value('api_version'));
  if (!apiVersion) throw settings.invalid(`api_version must look like "${DEFAULT_API_VERSION}" and be at least ${MIN_API_VERSION}.0`);

  const refreshToken = settings.optionalString('refresh_token');
  const clientId = settings.optionalString('client_id');
  if ((refreshToken === undefined) !== (clientId === undefined)) {
    throw settings.invalid('refresh_token and client_id go together; set both to refresh expired tokens, or neither');
  }
  const clientSecret = settings.optionalString('client_secret');
  const loginUrl = settings.optionalString('login_url') ?? DEFAULT_LOGIN_URL;
  const oauth = refreshToken && clientId ? { refreshToken, clientId, clientSecret, loginUrl: loginUrl.replace(/\/+$/, '') } : null;
  return {
    instanceUrl: instanceUrl.replace(/\/+$/, ''),
    accessToken,
    oauth,
    apiVersion,
    secrets: [
      ...new Set([
        ...[accessToken, refreshToken, clientSecret].filter((s): s is string => s !== undefined && s.length >= 4),
        ...extraSecrets,
      ]),
    ],
  };
}
