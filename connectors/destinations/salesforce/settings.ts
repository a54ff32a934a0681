/** Reads a `salesforce` write target into the typed values the client and `check` use. */
import type { SyncMode, WriteTarget } from '../../destination.js';
import { targetSettings } from '../../kit/settings.js';
import { sfCatalogue } from './errors.js';
import type { ObjectShape } from './field-coercion.js';

export const DEFAULT_API_VERSION = '62.0';
export type SalesforceApi = 'auto' | 'rest' | 'bulk';
/** 10,000 rows through Collections cost 50 calls; a Bulk API job about 7, but minutes of Salesforce's queue. */
export const DEFAULT_BULK_THRESHOLD = 10_000;
/** 100,000 rows of 1 kB make 100 MB of CSV, the upload size Salesforce advises (150 MB at most). */
export const DEFAULT_BULK_JOB_SIZE = 100_000;
export const DEFAULT_BULK_POLL_MS = 1_000;
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** Upserts through sObject Collections (PATCH /composite/sobjects/{T}/{field}) exist from v46.0. */
const MIN_API_VERSION = 46;

export interface SalesforceOAuth {
  refreshToken: string;
  clientId: string;
  clientSecret?: string;
  loginUrl: string;
}

export interface SalesforceTarget {
  instanceUrl: string;
  accessToken: string;
  /** Set when the access token can be refreshed; jsforce then refreshes on a 401 and replays the call once. */
  oauth: SalesforceOAuth | null;
  apiVersion: string;
  /** The sObject written, e.g. Contact. */
  object: string;
  /** The External ID field upserts match on; null only in insert mode without one. */
  externalId: string | null;
  mode: SyncMode;
  /** Mapped destination fields, in mapping order. */
  fields: string[];
  /** The destination field the primary key is mapped to, if any. */
  keyField: string | null;
  /** `api:` of the sync: rest (sObject Collections), bulk (Bulk API 2.0 jobs), or auto by `bulkThreshold`. */
  api: SalesforceApi;
  /** Under `api: auto`, runs sending at least this many rows write through Bulk API 2.0. */
  bulkThreshold: number;
  /** Rows per Bulk API 2.0 job. */
  bulkJobSize: number;
  /** First wait between polls of a Bulk API job (doubling, up to 30 s). */
  bulkPollMs: number;
  /** Tokens and the client secret, masked out of every message. */
  secrets: string[];
  /** The mapped fields' types and lengths from the check or the last heal; null: values are not coerced. */
  shape: ObjectShape | null;
  /** The shape came from a heal's describe this run, not the check's. */
  healed: boolean;
}

/** `62.0` is read by YAML as the number 62, so numbers are accepted and written back with one decimal. */
export function apiVersionOf(value: unknown): string | undefined {
  if (value === undefined) return DEFAULT_API_VERSION;
  const version = typeof value === 'number' ? value.toFixed(1) : value;
  if (typeof version !== 'string' || !/^\d{2,3}\.0$/.test(version) || Number(version) < MIN_API_VERSION) return undefined;
  return version;
}

export function readSalesforceTarget(target: WriteTarget): SalesforceTarget {
  const { destination, sync } = targetSettings(target, sfCatalogue, 'SF_CONFIG');
  const instanceUrl = destination.optionalString('instance_url');
  if (!instanceUrl || !/^https?:\/\/[^/]+/.test(instanceUrl)) {
    throw destination.invalid("instance_url must be the org's https:// URL, e.g. https://acme.my.salesforce.com");
  }
  // jsforce refuses Lightning UI hosts: the API lives on the my.salesforce.com host.
  if (/\.lightning\.force\.com/.test(instanceUrl)) {
    throw destination.invalid('instance_url must be the API host (…my.salesforce.com), not the Lightning one (…lightning.force.com)');
  }
  const accessToken = destination.string('access_token', { problem: 'is required (give it as ${SF_ACCESS_TOKEN})' });
  const apiVersion = apiVersionOf(destination.value('api_version'));
  if (!apiVersion) throw destination.invalid(`api_version must look like "${DEFAULT_API_VERSION}" and be at least ${MIN_API_VERSION}.0`);

  const refreshToken = destination.optionalString('refresh_token');
  const clientId = destination.optionalString('client_id');
  if ((refreshToken === undefined) !== (clientId === undefined)) {
    throw destination.invalid('refresh_token and client_id go together; set both to refresh expired tokens, or neither');
  }
  const clientSecret = destination.optionalString('client_secret');
  const loginUrl = destination.optionalString('login_url') ?? DEFAULT_LOGIN_URL;
  const oauth = refreshToken && clientId ? { refreshToken, clientId, clientSecret, loginUrl: loginUrl.replace(/\/+$/, '') } : null;

  const object = sync.string('object', { problem: 'is required, e.g. object: Contact' });
  const externalId = sync.optionalString('external_id') ?? null;
  if (!externalId && target.sync.mode !== 'insert') {
    throw sync.invalid(`external_id is required in ${target.sync.mode} mode`);
  }

  const api = sync.oneOf('api', ['auto', 'rest', 'bulk'] as const, { default: 'auto' });
  const bulkThreshold = sync.number('bulk_threshold', { default: DEFAULT_BULK_THRESHOLD, positive: true });
  const bulkJobSize = sync.number('bulk_job_size', { default: DEFAULT_BULK_JOB_SIZE, positive: true });
  const bulkPollMs = destination.number('bulk_poll_ms', { default: DEFAULT_BULK_POLL_MS });
  if (bulkPollMs < 0) throw destination.invalid('bulk_poll_ms must be 0 or more milliseconds');

  return {
    instanceUrl: instanceUrl.replace(/\/+$/, ''),
    accessToken,
    oauth,
    apiVersion,
    object,
    externalId,
    mode: target.sync.mode,
    fields: [...target.sync.fields],
    keyField: target.sync.keyField,
    api,
    bulkThreshold,
    bulkJobSize,
    bulkPollMs,
    shape: (target.sync.schema as ObjectShape | undefined) ?? null,
    healed: (target.sync.healGeneration ?? 0) > 0,
    secrets: [
      ...new Set([
        ...[accessToken, refreshToken, clientSecret].filter((s): s is string => s !== undefined && s.length >= 4),
        ...(target.secrets ?? []),
      ]),
    ],
  };
}
