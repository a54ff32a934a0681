/**
 * `salesforce`: writes a sync into one sObject through the REST sObject Collections API (jsforce),
 * at most 200 records per call. Records are matched on `external_id`, a mapped field marked External
 * ID in Salesforce; the Salesforce Id of each acknowledged row is kept as its destination id, which
 * mirror-mode deletes and update mode use.
 */
import { sfCatalogue } from '../../salesforce/errors.js';
import type { DestinationConnector } from '../../destination.js';
import { syncKeyProblems } from '../sync-key.js';
import { checkObject } from './check-object.js';
import { compareColumns } from './column-fit.js';
import { loadJsforce, openConnection } from '../../salesforce/connection.js';
import { readOrgUsage } from '../../salesforce/org-usage.js';
import { deletedFields } from './describe-fields.js';
import { SalesforceClient } from './salesforce-client.js';
import { matchColumn } from './bulk-ingest.js';
import { CREDENTIAL_SETTINGS_PROPERTIES } from '../../salesforce/credentials.js';
import { DEFAULT_BULK_JOB_SIZE, DEFAULT_BULK_POLL_MS, DEFAULT_BULK_THRESHOLD, readSalesforceTarget } from './settings.js';

/** sObject Collections refuse more than 200 records per call (EXCEEDED_ID_LIMIT). */
const COLLECTION_LIMIT = 200;

export const salesforceDestination: DestinationConnector = {
  catalogue: sfCatalogue.entries,
  type: 'salesforce',
  settingsSchema: {
    properties: {
      ...CREDENTIAL_SETTINGS_PROPERTIES,
      bulk_poll_ms: {
        type: 'integer',
        minimum: 0,
        description: `First wait between polls of a Bulk API 2.0 job, doubling up to 30 s. Default: ${DEFAULT_BULK_POLL_MS}`,
      },
    },
    required: ['instance_url', 'access_token'],
  },
  syncSchema: {
    properties: {
      object: { type: 'string', minLength: 1, description: 'salesforce: the sObject written, e.g. Contact or Invoice__c.' },
      external_id: {
        type: 'string',
        minLength: 1,
        description: 'Mapped field rows are matched on (salesforce: an External ID field, required except in insert mode).',
      },
      api: {
        enum: ['auto', 'rest', 'bulk'],
        description: `salesforce: rest (sObject Collections, 200 rows a call), bulk (Bulk API 2.0 jobs), or auto: bulk when a run sends at least bulk_threshold rows. Default: auto`,
      },
      bulk_threshold: {
        type: 'integer',
        minimum: 1,
        description: `salesforce, api: auto: rows to send from which a run writes through Bulk API 2.0. Default: ${DEFAULT_BULK_THRESHOLD}`,
      },
      bulk_job_size: {
        type: 'integer',
        minimum: 1,
        description: `salesforce: rows per Bulk API 2.0 job. Default: ${DEFAULT_BULK_JOB_SIZE}`,
      },
    },
    required: ['object'],
  },
  defaults: {
    batchSize: COLLECTION_LIMIT,
    maxBatchSize: COLLECTION_LIMIT,
    concurrency: 8,
    retry: { attempts: 5, base_delay_ms: 250, max_delay_ms: 30_000 },
  },
  validateSync(target) {
    const problems = syncKeyProblems(target, { requireKey: false });
    if (problems.length > 0) return problems;
    const externalId = target.sync.settings.external_id;
    if (target.sync.settings.api === 'bulk' && !externalId && !target.sync.keyField) {
      return [
        {
          field: 'api',
          message: 'bulk needs a mapped field to match job results to rows: set external_id, or map the primary key to a field',
        },
      ];
    }
    if (target.sync.mode !== 'insert' && externalId === undefined) {
      return [
        {
          field: 'external_id',
          message: `is required in ${target.sync.mode} mode; set it to the mapped field that is an External ID in Salesforce, e.g. external_id: External_Id__c`,
        },
      ];
    }
    return [];
  },
  async check(target) {
    const settings = readSalesforceTarget(target);
    return { schema: await checkObject(await openConnection(settings, { transportRetries: true }), settings) };
  },
  compareColumns,
  // Deletes go by the stored Salesforce Id, which an upsert by External ID answers with.
  deletesByDestinationId: () => true,
  jobSize(target, rowsToSend) {
    const settings = readSalesforceTarget(target);
    if (settings.api === 'rest' || matchColumn(settings, 'update') === null) return null;
    if (settings.api === 'auto' && rowsToSend < settings.bulkThreshold) return null;
    return settings.bulkJobSize;
  },
  async connect(target) {
    return SalesforceClient.open(readSalesforceTarget(target));
  },
  preload: loadJsforce,
  apiUsage(target) {
    return readOrgUsage(readSalesforceTarget(target));
  },
  heal(target) {
    return deletedFields(readSalesforceTarget(target));
  },
};
