/**
 * Which route answers a request under `/services/data/vNN.N`: the first whose method and path match.
 */
import { bulkIngestRoutes } from './routes/bulk-ingest.js';
import { bulkQueryRoutes } from './routes/bulk-query.js';
import { collectionRoutes } from './routes/collections.js';
import { describeGlobalRoute, describeRoute } from './routes/describe.js';
import { limitsRoute } from './routes/limits.js';
import { queryRoutes } from './routes/query.js';
import { replicationRoutes } from './routes/replication.js';
import type { DataRoute } from './routes/route.js';

/** `/services/data/v62.0/sobjects` → version `62.0`, path `/sobjects`. */
export const DATA_PATH = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/;

export const TOKEN_PATH = '/services/oauth2/token';

const DATA_ROUTES: DataRoute[] = [describeGlobalRoute, limitsRoute, ...queryRoutes, describeRoute, ...replicationRoutes, ...collectionRoutes, ...bulkIngestRoutes, ...bulkQueryRoutes];

export function findDataRoute(method: string, path: string): { route: DataRoute; params: string[] } | undefined {
  for (const route of DATA_ROUTES) {
    if (route.method !== method) continue;
    const match = route.path.exec(path);
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}
