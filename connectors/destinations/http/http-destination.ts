/**
 * `http`: POSTs each batch as JSON to a receiver you run:
 * `{"sync", "operation": "upsert"|"insert"|"update"|"delete", "rows": [{"key", "fields"}]}`.
 * A 2xx acknowledges the batch; a `results` array in the body can refuse single rows.
 *
 * `key` is the external_id field's value when the sync sets one, else the model's primary key.
 * Deletes carry no fields, so with external_id they send the row's destinationId: the receiver's
 * `id` for the row if it gave one, else the external_id value this connector recorded there.
 */
import type { DestinationConnector } from '../../destination.js';
import { syncKey, syncKeyProblems } from '../sync-key.js';
import { httpCatalogue } from './errors.js';
import { probeTcp } from './probe.js';
import { DEFAULT_TIMEOUT_MS, readHttpTarget } from './settings.js';

const PROBE_TIMEOUT_MS = 5_000;

const loadClient = () => import('./http-client.js');

export const httpDestination: DestinationConnector = {
  catalogue: httpCatalogue.entries,
  type: 'http',
  settingsSchema: {
    properties: {
      url: { type: 'string', minLength: 1, description: 'Endpoint each batch is POSTed to.' },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'Extra request headers, e.g. Authorization: Bearer ${TOKEN}.',
      },
      timeout_ms: { type: 'integer', minimum: 1, description: `Per-request timeout. Default: ${DEFAULT_TIMEOUT_MS}` },
    },
    required: ['url'],
  },
  syncSchema: {
    properties: {
      external_id: {
        type: 'string',
        minLength: 1,
        description: 'Mapped field whose value is sent as the row key, instead of the primary key.',
      },
    },
  },
  defaults: {
    batchSize: 100,
    maxBatchSize: 10_000,
    concurrency: 4,
    retry: { attempts: 5, base_delay_ms: 250, max_delay_ms: 30_000 },
  },
  validateSync(target) {
    return syncKeyProblems(target, { requireKey: false });
  },
  async check(target) {
    const { url, timeoutMs } = readHttpTarget(target);
    // URL keeps IPv6 hosts bracketed; net.connect wants them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    try {
      await probeTcp(host, port, Math.min(timeoutMs, PROBE_TIMEOUT_MS));
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERROR';
      const where = `destination ${target.destination.name}: cannot connect to ${url.hostname}:${port} (${code})`;
      if (code === 'ENOTFOUND') throw httpCatalogue.error('HTTP_DNS', where);
      if (code === 'ETIMEDOUT') throw httpCatalogue.error('HTTP_TIMEOUT', where);
      throw httpCatalogue.error('HTTP_NETWORK', `${where}; is the receiver running?`);
    }
  },
  // The client (and undici) is loaded where it sends, in the write threads, as they start: the CLI's
  // main thread, which imports every connector, never needs it (undici took ~60 ms of its start).
  // With external_id a delete carries the destination id recorded for the row (sync-key.ts); else its key.
  deletesByDestinationId: (target) => syncKey(target)?.external === true,
  preload: loadClient,
  async connect(target) {
    const { HttpClient } = await loadClient();
    return new HttpClient(readHttpTarget(target), target.sync.name, target.sync.mode);
  },
};
