/**
 * `postgres`: writes a sync into one table of a PostgreSQL database, matched on a unique key column.
 * Upserts use INSERT … ON CONFLICT, so the key column needs a primary key or unique constraint.
 */
import { pgCatalogue } from './errors.js';
import { DestinationError, type DestinationConnector } from '../../destination.js';
import { syncKey, syncKeyProblems } from '../sync-key.js';
import { checkTable } from './check-table.js';
import { classifyPgError } from './errors.js';
import { readPostgresTarget } from './settings.js';

const CHECK_CONNECT_TIMEOUT_MS = 5_000;

// pg (and the client) load where a postgres destination is used, not in every CLI start.
const loadDatabase = () => import('./database.js');
const loadClient = () => import('./postgres-client.js');

export const postgresDestination: DestinationConnector = {
  catalogue: pgCatalogue.entries,
  type: 'postgres',
  settingsSchema: {
    properties: {
      url: { type: 'string', minLength: 1, description: 'postgres://user:password@host:5432/database, normally ${PG_URL}.' },
      schema: { type: 'string', minLength: 1, description: 'Schema of the sync tables. Default: public' },
    },
    required: ['url'],
  },
  syncSchema: {
    properties: {
      table: { type: 'string', minLength: 1, description: 'Table the rows are written to.' },
      external_id: {
        type: 'string',
        minLength: 1,
        description: 'Mapped column rows are matched on, instead of the one the primary key maps to.',
      },
    },
    required: ['table'],
  },
  defaults: {
    batchSize: 500,
    maxBatchSize: 5000,
    concurrency: 4,
    retry: { attempts: 5, base_delay_ms: 200, max_delay_ms: 10_000 },
  },
  validateSync(target) {
    return syncKeyProblems(target);
  },
  async check(target) {
    const settings = readPostgresTarget(target);
    const { openDatabase } = await loadDatabase();
    const db = openDatabase(settings.url, CHECK_CONNECT_TIMEOUT_MS);
    try {
      await checkTable(db, settings, target.sync.mode);
    } catch (error) {
      if (error instanceof DestinationError) throw error;
      throw new DestinationError(
        classifyPgError(error, `destination ${target.destination.name}: checking ${settings.label}`, settings.secrets),
        0,
      );
    } finally {
      await db.destroy();
    }
  },
  // With external_id a delete carries the destination id recorded for the row (sync-key.ts); else its key.
  deletesByDestinationId: (target) => syncKey(target)?.external === true,
  preload: loadClient,
  async connect(target) {
    const { PostgresClient } = await loadClient();
    return new PostgresClient(readPostgresTarget(target), target.sync.mode, target.callsPerClient ?? 1);
  },
};
