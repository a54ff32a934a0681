/** Reads a `postgres` write target into the typed values the client and `check` use. */
import type { WriteTarget } from '../../destination.js';
import { targetSettings } from '../../kit/settings.js';
import { syncKey, type SyncKey } from '../sync-key.js';
import { pgCatalogue } from './errors.js';

export interface PostgresTarget {
  url: string;
  schema: string;
  table: string;
  key: SyncKey;
  /** Columns written by inserts and updates, the key column included, in mapping order. */
  columns: string[];
  /** `"schema"."table"`, for messages. */
  label: string;
  /** Values that must never appear in a message: the URL's password (of any length) and the core's environment values. */
  secrets: string[];
}

const URL_FORM = 'Use the form postgres://user:password@host:5432/database.';

export function readPostgresTarget(target: WriteTarget): PostgresTarget {
  const { destination, sync } = targetSettings(target, pgCatalogue, 'PG_CONFIG');
  const url = destination.string('url', { remediation: 'Set `url` to a postgres URL, e.g. `${PG_URL}`.' });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may hold a password, so it is not echoed.
    throw destination.invalid('url is not a valid URL', URL_FORM);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw destination.invalid('url must start with postgres://', URL_FORM);
  }
  const schema = destination.string('schema', {
    default: 'public',
    problem: 'must be a non-empty string',
    remediation: "Set `schema` to the table's schema or remove it for `public`.",
  });
  const table = sync.string('table', { remediation: 'Set `table` in the sync file to the destination table.' });
  const key = syncKey(target);
  if (!key) {
    throw sync.invalid('no column identifies a row', 'Map the primary key to a column or set `external_id`.');
  }
  const columns = target.sync.fields.includes(key.field) ? [...target.sync.fields] : [key.field, ...target.sync.fields];
  const secrets = [...new Set([...passwordForms(parsed), ...(target.secrets ?? [])])];
  return { url, schema, table, key, columns, label: `"${schema}"."${table}"`, secrets };
}

function passwordForms(url: URL): string[] {
  if (!url.password) return [];
  try {
    return [url.password, decodeURIComponent(url.password)];
  } catch {
    return [url.password];
  }
}
