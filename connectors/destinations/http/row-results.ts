/**
 * Reads per-row results from a 2xx body: `{"results": [{key, ok, error?, code?, id?}]}`.
 * A body without a `results` array acknowledges every row; so does a row the array leaves out.
 */
import type { RowResult } from '../../destination.js';
import { redact } from '../../../shared/redact.js';
import { rowFailure } from './errors.js';

export interface SentRow {
  /** The model key the core knows the row by. */
  rowKey: string;
  /** The key sent in the payload, which the receiver answers with. */
  sentKey: string;
}

interface ReceiverResult {
  ok?: unknown;
  error?: unknown;
  code?: unknown;
  id?: unknown;
}

function receiverResults(body: string): Map<string, ReceiverResult> {
  const byKey = new Map<string, ReceiverResult>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return byKey;
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return byKey;
  for (const result of results) {
    const key = (result as { key?: unknown } | null)?.key;
    if (typeof key === 'string' || typeof key === 'number') byKey.set(String(key), result as ReceiverResult);
  }
  return byKey;
}

/**
 * @param rememberSentKey return the sent key as destinationId when the receiver gives no id, so a
 *   later delete (which has no fields to read an external_id from) can still address the row.
 */
export function rowResults(sent: SentRow[], body: string, rememberSentKey: boolean, secrets: string[]): RowResult[] {
  const byKey = receiverResults(body);
  return sent.map(({ rowKey, sentKey }): RowResult => {
    const result = byKey.get(sentKey);
    if (result?.ok === false) {
      const error = typeof result.error === 'string' && result.error !== '' ? result.error : 'rejected by the receiver';
      // The receiver's own code is stored as error_code: it may echo a token as well as the message may.
      const code = typeof result.code === 'string' && result.code !== '' ? redact(result.code, secrets) : undefined;
      return { key: rowKey, ok: false, failure: rowFailure(code, redact(error, secrets)) };
    }
    const id = typeof result?.id === 'string' || typeof result?.id === 'number' ? String(result.id) : undefined;
    const destinationId = id ?? (rememberSentKey ? sentKey : undefined);
    return destinationId === undefined ? { key: rowKey, ok: true } : { key: rowKey, ok: true, destinationId };
  });
}
