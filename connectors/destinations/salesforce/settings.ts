/** Reads a `salesforce` write target into the typed values the client and `check` use. */
import type { SyncMode, WriteTarget } from '../../destination.js';
import { targetSettings } from '../../kit/settings.js';
import { sfCatalogue } from '../../salesforce/errors.js';
import { readSalesforceCredentials, type SalesforceCredentials } from '../../salesforce/credentials.js';
import type { ObjectShape } from './field-coercion.js';

export type SalesforceApi = 'auto' | 'rest' | 'bulk';
/** 10,000 rows through Collections cost 50 calls; a Bulk API job about 7, but minutes of Salesforce's queue. */
export const DEFAULT_BULK_THRESHOLD = 10_000;
/** 100,000 rows of 1 kB make 100 MB of CSV, the upload size Salesforce advises (150 MB at most). */
export const DEFAULT_BULK_JOB_SIZE = 100_000;
export const DEFAULT_BULK_POLL_MS = 1_000;
export interface SalesforceTarget extends SalesforceCredentials {
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
  /** The mapped fields' types and lengths from the check or the last heal; null: values are not coerced. */
  shape: ObjectShape | null;
  /** The shape came from a heal's describe this run, not the check's. */
  healed: boolean;
}

export function readSalesforceTarget(target: WriteTarget): SalesforceTarget {
  const { destination, sync } = targetSettings(target, sfCatalogue, 'SF_CONFIG');
  const credentials = readSalesforceCredentials(destination, target.secrets ?? []);

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
    ...credentials,
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
  };
}
