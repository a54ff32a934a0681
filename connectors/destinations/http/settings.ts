/** Reads an `http` write target into the typed values the client and `check` use. */
import { DestinationError, type WriteTarget } from '../../destination.js';
import { syncKey, type SyncKey } from '../sync-key.js';
import { httpFailure } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpTarget {
  url: URL;
  /** Origin and path only: the URL's user info and query may hold credentials. */
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Null only for a sync `validateSync` refused; rows then go out under their primary key. */
  key: SyncKey | null;
  /** Header values (tokens), URL credentials and the core's environment values, masked out of every message. */
  secrets: string[];
}

function invalid(message: string): DestinationError {
  return new DestinationError(httpFailure('HTTP_CONFIG', message), 0);
}

export function readHttpTarget(target: WriteTarget): HttpTarget {
  const { url, headers = {}, timeout_ms = DEFAULT_TIMEOUT_MS } = target.destination.settings;
  const name = target.destination.name;
  if (typeof url !== 'string' || url === '') throw invalid(`destination ${name}: url is required`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: the URL may carry a token.
    throw invalid(`destination ${name}: url is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`destination ${name}: url must start with http:// or https://`);
  }
  if (typeof timeout_ms !== 'number' || !Number.isFinite(timeout_ms) || timeout_ms <= 0) {
    throw invalid(`destination ${name}: timeout_ms must be a positive number of milliseconds`);
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalid(`destination ${name}: headers must be a map of header name to value`);
  }
  const checked: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    // Only the name is reported: the value is often a token.
    if (typeof value !== 'string') throw invalid(`destination ${name}: header "${header}" must be a string`);
    try {
      new Headers([[header, value]]);
    } catch {
      throw invalid(`destination ${name}: header "${header}" has an invalid name or value`);
    }
    checked[header] = value;
  }
  // Each word of a header value too, so `Bearer <token>` is masked where a receiver echoes the token alone.
  const headerWords = Object.values(checked).flatMap((v) => [v.trim(), ...v.split(/\s+/).filter((w) => w.length >= 8)]);
  const own = [...headerWords, parsed.password, parsed.username, ...parsed.searchParams.values()].filter((s) => s.length >= 4);
  const secrets = [...new Set([...own, ...(target.secrets ?? [])])];
  return {
    url: parsed,
    endpoint: `${parsed.origin}${parsed.pathname}`,
    headers: checked,
    timeoutMs: timeout_ms,
    key: syncKey(target),
    secrets,
  };
}
