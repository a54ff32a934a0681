/** POSTs each batch as one JSON request and reads the answer into per-row results or a whole-call failure. */
import { oneLine } from '../../../shared/errors.js';
import { clip, redact } from '../../../shared/redact.js';
import type { SyncMode } from '../../destination.js';
import {
  DestinationError,
  type DestinationClient,
  type OutboundRow,
  type RowOp,
  type RowResult,
  type WriteOutcome,
  writeOperation,
} from '../../destination.js';
import { stringifyExactJson } from '../../../shared/exact-json.js';
import { rowKeyValue } from '../sync-key.js';
import { httpCatalogue, statusFailure } from './errors.js';
import { parseRetryAfter } from './retry-after.js';
import { rowResults, type SentRow } from './row-results.js';
import type { HttpTarget } from './settings.js';

const EXCERPT_CHARS = 200;

export class HttpClient implements DestinationClient {
  readonly sendsFieldsText = true;

  constructor(
    private readonly target: HttpTarget,
    private readonly syncName: string,
    private readonly mode: SyncMode,
  ) {}

  async write(op: RowOp, rows: OutboundRow[]): Promise<WriteOutcome> {
    const { key, endpoint, secrets } = this.target;
    const results: RowResult[] = [];
    const sent: SentRow[] = [];
    // Each row's JSON, from its payload text when the write thread kept it (no parse, no stringify).
    const rowTexts: string[] = [];
    for (const row of rows) {
      const value = key ? rowKeyValue(row, key) : row.key;
      if (value === undefined) {
        const failure = httpCatalogue.failure('HTTP_NO_KEY', `row ${row.key} was never acknowledged with an external id`);
        results.push({ key: row.key, ok: false, failure });
        continue;
      }
      const sentKey = String(value);
      sent.push({ rowKey: row.key, sentKey });
      const fields = op === 'delete' ? '{}' : (row.fieldsText ?? stringifyExactJson(row.fields));
      rowTexts.push(`{"key":${JSON.stringify(sentKey)},"fields":${fields}}`);
    }
    if (rowTexts.length === 0) return { results, apiCalls: 0 };

    // Numbers keep every digit (README, "How values are rendered").
    const head = JSON.stringify({ sync: this.syncName, operation: writeOperation(this.mode, op) });
    const body = `${head.slice(0, -1)},"rows":[${rowTexts.join(',')}]}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.target.url, {
        method: 'POST',
        headers: { ...this.target.headers, 'content-type': 'application/json' },
        body,
        // A redirect would turn the POST into a GET and could carry the headers to another host.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new DestinationError(this.networkFailure(error), 1);
    }

    if (response.status >= 200 && response.status < 300) {
      const remember = key?.external === true && op !== 'delete';
      return { results: [...results, ...rowResults(sent, text, remember, secrets)], apiCalls: 1 };
    }
    // Masked before the cut: a token cut in two is no longer found whole.
    const excerpt = clip(oneLine(text), EXCERPT_CHARS, secrets);
    const message = redact(
      `POST ${endpoint} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`,
      secrets,
    );
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    throw new DestinationError(statusFailure(response.status, message, retryAfterMs), 1);
  }

  private networkFailure(error: unknown) {
    const { endpoint, timeoutMs, secrets } = this.target;
    const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return httpCatalogue.failure('HTTP_TIMEOUT', `POST ${endpoint} got no answer within ${timeoutMs} ms`);
    }
    // undici reports "fetch failed" and puts the socket error in `cause`.
    const reason = e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(error);
    return httpCatalogue.failure('HTTP_NETWORK', redact(`POST ${endpoint} failed: ${reason}`, secrets));
  }

  async close(): Promise<void> {}
}
