/** Reads an `http` write target into the typed values the client and `check` use. */
import type { WriteTarget } from '../../destination.js';
import { targetSettings } from '../../kit/settings.js';
import { syncKey, type SyncKey } from '../sync-key.js';
import { httpCatalogue } from './errors.js';

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

export function readHttpTarget(target: WriteTarget): HttpTarget {
  const { destination } = targetSettings(target, httpCatalogue, 'HTTP_CONFIG');
  const url = destination.string('url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: the URL may carry a token.
    throw destination.invalid('url is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw destination.invalid('url must start with http:// or https://');
  }
  // `fetch` refused such a URL at every call; the client now would drop them without a word.
  if (parsed.username !== '' || parsed.password !== '') {
    throw destination.invalid('url must not carry user:password@; send credentials in headers (authorization)');
  }
  const timeoutMs = destination.number('timeout_ms', {
    default: DEFAULT_TIMEOUT_MS,
    positive: true,
    problem: 'must be a positive number of milliseconds',
  });
  const given = destination.value('headers');
  const headers = given === undefined ? {} : given;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw destination.invalid('headers must be a map of header name to value');
  }
  const checked: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    // Only the name is reported: the value is often a token.
    if (typeof value !== 'string') throw destination.invalid(`header "${header}" must be a string`);
    try {
      new Headers([[header, value]]);
    } catch {
      throw destination.invalid(`header "${header}" has an invalid name or value`);
    }
    // As `fetch`'s Headers did: the value without surrounding whitespace (a token read from a file
    // often ends in a newline), the name in lower case, so one header cannot go out twice.
    checked[header.toLowerCase()] = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  }
  // Each word of a header value too, so `Bearer <token>` is masked where a receiver echoes the token alone.
  const headerWords = Object.values(checked).flatMap((v) => [v.trim(), ...v.split(/\s+/).filter((w) => w.length >= 8)]);
  const own = [...headerWords, parsed.password, parsed.username, ...parsed.searchParams.values()].filter((s) => s.length >= 4);
  const secrets = [...new Set([...own, ...(target.secrets ?? [])])];
  return {
    url: parsed,
    endpoint: `${parsed.origin}${parsed.pathname}`,
    headers: checked,
    timeoutMs,
    key: syncKey(target),
    secrets,
  };
}
