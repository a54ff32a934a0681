/** Reads a `postgres` write target into the typed values the client and `check` use. */
import { DestinationError, type WriteTarget } from '../../destination.js';
import { syncKey, type SyncKey } from '../sync-key.js';

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

function invalid(message: string, remediation: string): DestinationError {
  return new DestinationError({ errorClass: 'fatal', code: 'PG_CONFIG', message, remediation }, 0);
}

export function readPostgresTarget(target: WriteTarget): PostgresTarget {
  const { url, schema = 'public' } = target.destination.settings;
  const name = target.destination.name;
  if (typeof url !== 'string' || url === '') {
    throw invalid(`destination ${name}: url is required`, 'Set `url` to a postgres URL, e.g. `${PG_URL}`.');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may hold a password, so it is not echoed.
    throw invalid(`destination ${name}: url is not a valid URL`, 'Use the form postgres://user:password@host:5432/database.');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw invalid(`destination ${name}: url must start with postgres://`, 'Use the form postgres://user:password@host:5432/database.');
  }
  if (typeof schema !== 'string' || schema === '') {
    throw invalid(`destination ${name}: schema must be a non-empty string`, 'Set `schema` to the table\'s schema or remove it for `public`.');
  }
  const table = target.sync.settings.table;
  if (typeof table !== 'string' || table === '') {
    throw invalid(`sync ${target.sync.name}: table is required`, 'Set `table` in the sync file to the destination table.');
  }
  const key = syncKey(target);
  if (!key) {
    throw invalid(
      `sync ${target.sync.name}: no column identifies a row`,
      'Map the primary key to a column or set `external_id`.',
    );
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
