/**
 * Data replication: `GET /sobjects/{T}/updated/?start=&end=` (Ids of records added or changed in the
 * window, by SystemModstamp) and `GET /sobjects/{T}/deleted/?start=&end=` (Ids and deletion dates from
 * the recycle bin). Both truncate the window to the minute and cover [start, latestDateCovered).
 */
import { RequestError } from '../errors.js';
import { formatDateTime, parseDateTime } from '../org/org-clock.js';
import type { SObjectStore } from '../org/sobject-store.js';
import type { DataContext, DataRoute, Reply } from './route.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** getUpdated looks back at most 30 days, getDeleted 15 (REST API guide, "sObject Get Updated/Deleted"). */
export const REPLICATION_DAYS = { updated: 30, deleted: 15 };
/** More Ids than this in one answer is EXCEEDED_ID_LIMIT: choose a shorter window. */
const MAX_IDS = 600_000;

const replicationDate = (message: string) => new RequestError(400, 'INVALID_REPLICATION_DATE', message);

interface Window {
  start: number;
  end: number;
  /** The last instant the answer covers: the end, or now when the end is later (both to the minute). */
  latest: number;
}

function windowOf(query: URLSearchParams, now: number, days: number): Window {
  const parse = (name: string) => {
    const text = query.get(name);
    const ms = text === null ? Number.NaN : parseDateTime(text);
    if (Number.isNaN(ms)) throw replicationDate(`${name} must be a date-time such as 2026-01-01T00:00:00+00:00`);
    return Math.floor(ms / MINUTE) * MINUTE;
  };
  const start = parse('start');
  const end = parse('end');
  // Salesforce's own wording for a window shorter than a minute or reversed (restforce#667).
  if (end - start < MINUTE) throw replicationDate('startDate must be at least one minute greater than endDate');
  if (start < now - days * DAY) throw replicationDate(`startDate cannot be more than ${days} days ago`);
  return { start, end, latest: Math.min(end, Math.floor(now / MINUTE) * MINUTE) };
}

const stampOf = (record: Record<string, unknown>) => parseDateTime(String(record.SystemModstamp));

function inWindow(store: SObjectStore, records: Iterable<Record<string, unknown>>, window: Window) {
  const found = [];
  for (const record of records) {
    const stamp = stampOf(record);
    if (stamp >= window.start && stamp < window.latest) found.push({ id: String(record.Id), stamp });
  }
  if (found.length > MAX_IDS) throw new RequestError(400, 'EXCEEDED_ID_LIMIT', `more than ${MAX_IDS} ids found for ${store.spec.name}: choose a shorter window`);
  return found.sort((a, b) => a.stamp - b.stamp);
}

function answer(kind: 'updated' | 'deleted', object: string, query: URLSearchParams, { org }: DataContext): Reply {
  const store = org.requestedType(object);
  const now = org.clock.now();
  const window = windowOf(query, now, REPLICATION_DAYS[kind]);
  if (kind === 'updated') {
    const ids = inWindow(store, store.records.values(), window).map((r) => r.id);
    return { status: 200, body: { ids, latestDateCovered: formatDateTime(window.latest) }, records: ids.length };
  }
  const earliest = store.purgedBefore ?? now - REPLICATION_DAYS.deleted * DAY;
  // Records deleted before the last purge are gone: a window reaching back past it cannot be answered.
  if (store.purgedBefore !== undefined && window.start < store.purgedBefore) {
    throw replicationDate('startDate is before the earliest date available: the recycle bin was emptied since');
  }
  const deletedRecords = inWindow(store, store.deleted.values(), window).map((r) => ({ id: r.id, deletedDate: formatDateTime(r.stamp) }));
  return {
    status: 200,
    body: { deletedRecords, earliestDateAvailable: formatDateTime(earliest), latestDateCovered: formatDateTime(window.latest) },
    records: deletedRecords.length,
  };
}

export const replicationRoutes: DataRoute[] = (['updated', 'deleted'] as const).map((kind) => ({
  route: kind === 'updated' ? 'getUpdated' : 'getDeleted',
  method: 'GET',
  path: new RegExp(`^/sobjects/(\\w+)/${kind}/?$`),
  open: ({ params: [object], query }) => ({ object, answer: (context) => answer(kind, object, query, context) }),
}));
