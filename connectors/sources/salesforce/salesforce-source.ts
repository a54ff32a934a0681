/**
 * `salesforce` as a source: the same connection keys, token refresh and error catalogue as the
 * destination (connectors/salesforce/), reading with SOQL by `SystemModstamp`.
 */
import { CREDENTIAL_SETTINGS_PROPERTIES, readSalesforceCredentials } from '../../salesforce/credentials.js';
import { settingsReader } from '../../kit/settings.js';
import type { SourceConnector } from '../../source.js';
import { sfReadCatalogue } from './errors.js';
import { SalesforceSourceClient } from './salesforce-source-client.js';
import { ID_FIELD, STAMP_FIELD, filterProblem } from './soql.js';

export const DEFAULT_SOURCE_BULK_POLL_MS = 1_000;
/** 50,000 CSV records of 1 kB is a 50 MB page, well under what one answer should carry. */
export const DEFAULT_BULK_PAGE_SIZE = 50_000;

export const salesforceSource: SourceConnector = {
  type: 'salesforce',
  stampField: STAMP_FIELD,
  idField: ID_FIELD,
  secretKeys: ['access_token', 'refresh_token', 'client_secret'],
  settingsSchema: {
    properties: {
      ...CREDENTIAL_SETTINGS_PROPERTIES,
      bulk_poll_ms: {
        type: 'integer',
        minimum: 0,
        description: `First wait between polls of a Bulk API 2.0 query job, doubling up to 30 s. Default: ${DEFAULT_SOURCE_BULK_POLL_MS}`,
      },
      bulk_page_size: {
        type: 'integer',
        minimum: 1,
        description: `Records per Bulk API 2.0 query result page. Default: ${DEFAULT_BULK_PAGE_SIZE}`,
      },
    },
    required: ['instance_url', 'access_token'],
  },
  filterProblem,
  async open(settings, options) {
    const reader = settingsReader(settings, (problem, remediation) =>
      sfReadCatalogue.error('SF_SOURCE_CONFIG', `source ${options.name}: ${problem}`, remediation === undefined ? {} : { remediation }),
    );
    const credentials = readSalesforceCredentials(reader, options.secrets);
    const bulkPollMs = reader.number('bulk_poll_ms', { default: DEFAULT_SOURCE_BULK_POLL_MS });
    const bulkPageSize = reader.number('bulk_page_size', { default: DEFAULT_BULK_PAGE_SIZE, positive: true });
    return SalesforceSourceClient.open({ ...credentials, bulkPollMs, bulkPageSize }, options);
  },
};
