/**
 * API usage accounting: the `Sforce-Limit-Info` header every data response carries, `GET /limits`,
 * and the 403 every data call gets once the daily quota is spent. Both report the same counter.
 */
import { errorBody } from '../errors.js';
import type { DataRoute, Reply } from './route.js';

export const limitInfoHeader = (used: number, limit: number) => ({ 'sforce-limit-info': `api-usage=${used}/${limit}` });

export const quotaExceeded: Reply = { status: 403, body: errorBody('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.') };

export const limitsRoute: DataRoute = {
  route: 'limits',
  method: 'GET',
  path: /^\/limits$/,
  open: () => ({
    object: null,
    answer: ({ apiUsed, apiLimit }) => ({
      status: 200,
      body: {
        DailyApiRequests: { Max: apiLimit, Remaining: Math.max(0, apiLimit - apiUsed) },
        DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
        DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
        DataStorageMB: { Max: 5, Remaining: 5 },
      },
    }),
  }),
};
