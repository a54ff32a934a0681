/** POSTs each batch as one JSON request and reads the answer into per-row results or a whole-call failure. */
import { STATUS_CODES } from 'node:http';
import { request } from 'undici';
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
import { answerText } from './answer-body.js';
import { parseRetryAfter } from './retry-after.js';
import { rowResults, type SentRow } from './row-results.js';
import type { HttpTarget } from './settings.js';

const EXCERPT_CHARS = 200;
const USER_AGENT = 'hightouch-like';

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
    let status: number;
    let retryAfter: string | string[] | undefined;
    let text: string;
    const timeout = AbortSignal.timeout(this.target.timeoutMs);
    try {
      // undici's `request` rather than `fetch`: the same client without the WHATWG layers (streams,
      // Request/Response objects), a quarter less CPU per call in the write thread at 0 ms latency. It
      // follows no redirect: a redirect would turn the POST into a GET and could carry the headers to
      // another host.
      const response = await request(this.target.url, {
        method: 'POST',
        // Some firewalls refuse a request with no User-Agent; `fetch` sent one. Header names are lower
        // case (settings.ts): the configured ones replace ours, and ours replace a configured content-type.
        headers: { 'user-agent': USER_AGENT, ...this.target.headers, 'content-type': 'application/json' },
        body,
        signal: timeout,
        maxRedirections: 0,
      });
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = answerText(Buffer.from(await response.body.arrayBuffer()), response.headers['content-encoding']);
    } catch (error) {
      throw new DestinationError(this.networkFailure(error, timeout.aborted), 1);
    }

    if (status >= 200 && status < 300) {
      const remember = key?.external === true && op !== 'delete';
      return { results: [...results, ...rowResults(sent, text, remember, secrets)], apiCalls: 1 };
    }
    // Masked before the cut: a token cut in two is no longer found whole.
    const excerpt = clip(oneLine(text), EXCERPT_CHARS, secrets);
    // The standard reason phrase: undici's `request` does not keep the one the receiver sent.
    const reason = STATUS_CODES[status];
    const message = redact(`POST ${endpoint} answered ${status}${reason ? ` ${reason}` : ''}${excerpt ? `: ${excerpt}` : ''}`, secrets);
    const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : (retryAfter ?? null));
    throw new DestinationError(statusFailure(status, message, retryAfterMs), 1);
  }

  private networkFailure(error: unknown, timedOut: boolean) {
    const { endpoint, timeoutMs, secrets } = this.target;
    const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
    if (timedOut || e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return httpCatalogue.failure('HTTP_TIMEOUT', `POST ${endpoint} got no answer within ${timeoutMs} ms`);
    }
    // undici gives the socket error's code (ECONNREFUSED); `fetch` put it in `cause`.
    const reason = e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(error);
    return httpCatalogue.failure('HTTP_NETWORK', redact(`POST ${endpoint} failed: ${reason}`, secrets));
  }

  async close(): Promise<void> {}
}
