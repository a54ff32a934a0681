/**
 * Reads one org with the write side's jsforce Connection for the session (its token, and its refresh on
 * a 401, then one replay), making each call with Node's fetch: REST `query`/`queryMore` pages of up to 2,000 records, Bulk API 2.0 query jobs
 * for large reads (CSV pages of `bulkPageSize` records, paged by `Sforce-Locator`), and the replication
 * call `getDeleted` for deletes.
 *
 * Bodies are read as text: query pages are parsed with exact numbers, and a page whose gzip body fails
 * to decode is asked again without compression (`Accept-Encoding: identity`), once, with a notice.
 * `getDeleted` refuses a window older than the org keeps (INVALID_REPLICATION_DATE, 30 days): deletes
 * are then read by a `queryAll` of `IsDeleted = true` records since the cursor, with a notice.
 */
import type { Connection } from 'jsforce';
import { oneLine } from '../../../shared/errors.js';
import { clip } from '../../../shared/redact.js';
import type { ApiUsage } from '../../destination.js';
import {
  SourceError,
  type SourceClient,
  type SourceField,
  type SourceOpenOptions,
  type SourceRead,
  type SourceRecord,
} from '../../source.js';
import { noteAnswered, openConnection, type CallMeter } from '../../salesforce/connection.js';
import type { SalesforceCredentials } from '../../salesforce/credentials.js';
import { classifyReadError, isCorruptCompression, sfReadCatalogue } from './errors.js';
import { sourceFields, type DescribedField } from './field-types.js';
import { parseQueryPage, textOf } from './record-text.js';
import { ID_FIELD, STAMP_FIELD, countChanged, selectChanged, selectDeleted, soqlName } from './soql.js';
import { lazyRequire } from '../../../shared/lazy-require.js';

// Bulk API 2.0 query results only: the CLI loads this module for every start.
const csvParse = lazyRequire<typeof import('csv-parse/sync')>('csv-parse/sync');

/** REST query pages: Salesforce's default and largest batch size. */
const REST_BATCH_SIZE = 2_000;
/** Polls of a query job wait this, then twice as long each time, up to 30 s. */
const MAX_POLL_DELAY_MS = 30_000;
const MAX_POLLS = 10_000;

export interface SalesforceSourceSettings extends SalesforceCredentials {
  /** First wait between polls of a Bulk API query job. */
  bulkPollMs: number;
  /** Records per Bulk API result page (`maxRecords`). */
  bulkPageSize: number;
}

type Headers = Record<string, string>;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** No single query page or job call should take longer; Salesforce times a query out at 2 minutes itself. */
const REQUEST_TIMEOUT_MS = 180_000;

/** An error answer as jsforce would report it: Salesforce's `[{errorCode, message}]`, else `ERROR_HTTP_<status>`. */
function errorOf(status: number, text: string): { errorCode: string; message: string; name: string } {
  try {
    const body = JSON.parse(text) as unknown;
    const first = (Array.isArray(body) ? body[0] : body) as { errorCode?: unknown; message?: unknown } | undefined;
    if (first && typeof first.errorCode === 'string')
      return { errorCode: first.errorCode, message: String(first.message ?? ''), name: 'HttpApiError' };
  } catch {
    // Not JSON: a gateway's page.
  }
  return { errorCode: `ERROR_HTTP_${status}`, message: text.slice(0, 400), name: 'HttpApiError' };
}

export class SalesforceSourceClient implements SourceClient {
  private readonly meter: CallMeter = { calls: 0 };
  private readonly sleep: (ms: number) => Promise<void>;

  private constructor(
    private readonly settings: SalesforceSourceSettings,
    private readonly conn: Connection,
    private readonly options: SourceOpenOptions,
  ) {
    this.sleep = options.sleep ?? realSleep;
  }

  static async open(settings: SalesforceSourceSettings, options: SourceOpenOptions): Promise<SalesforceSourceClient> {
    return new SalesforceSourceClient(settings, await openConnection(settings, { transportRetries: false }), options);
  }

  get apiCalls(): number {
    return this.meter.calls;
  }

  private secrets(): string[] {
    const current = this.conn.accessToken;
    return [...this.settings.secrets, ...this.options.secrets, ...(current ? [current] : [])];
  }

  private path(rest: string): string {
    return `/services/data/v${this.settings.apiVersion}${rest}`;
  }

  /**
   * One HTTP call, counted, its body as text, its error classified. The call is made with Node's own
   * fetch and the connection's token (refreshed through jsforce on a 401, then replayed once): jsforce's
   * transport never settles a call whose gzip body fails to decode (emulators/salesforce/WIRE.md,
   * "Compression"), where fetch rejects. Such a body is asked for once more without compression.
   */
  private async text(
    context: string,
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    headers: Headers = {},
  ): Promise<{ body: string; headers: Headers }> {
    try {
      try {
        return await this.send(method, url, body, headers);
      } catch (error) {
        if (!isCorruptCompression(error)) throw error;
        this.options.notice({
          kind: 'gzip_retried',
          reason: `${context}: the compressed answer failed to decode; asked again without compression`,
        });
        return await this.send(method, url, body, { ...headers, 'Accept-Encoding': 'identity' });
      }
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(classifyReadError(error, this.lastStatus, context, this.secrets()), this.meter.calls);
    }
  }

  private lastStatus: number | undefined;

  private async send(
    method: 'GET' | 'POST',
    url: string,
    body: unknown,
    headers: Headers,
    replay = true,
  ): Promise<{ body: string; headers: Headers }> {
    this.meter.calls++;
    this.lastStatus = undefined;
    const response = await fetch(`${this.conn.instanceUrl}${url}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.conn.accessToken}`,
        'Accept-Encoding': 'gzip',
        ...headers,
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    this.lastStatus = response.status;
    const text = await response.text();
    const answerHeaders = Object.fromEntries(response.headers.entries());
    const limit = /api-usage=(\d+)\/(\d+)/.exec(answerHeaders['sforce-limit-info'] ?? '');
    if (limit) this.usage = { used: Number(limit[1]), limit: Number(limit[2]) };
    if (response.status === 401 && replay && this.conn._refreshDelegate) {
      this.meter.calls++;
      try {
        await this.conn._refreshDelegate.refresh(Date.now());
      } catch (error) {
        const message = `refreshing the access token failed: ${String((error as Error)?.message ?? error)}`;
        throw new SourceError(sfReadCatalogue.failure('SF_REFRESH_FAILED', clip(oneLine(message), 400, this.secrets())), this.meter.calls);
      }
      return this.send(method, url, body, headers, false);
    }
    if (response.status >= 400) throw errorOf(response.status, text);
    noteAnswered(this.conn);
    return { body: text, headers: answerHeaders };
  }

  private async json(context: string, method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const answer = await this.text(context, method, url, body);
    try {
      return JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      throw new SourceError(sfReadCatalogue.failure('SF_UNKNOWN', `${context}: the answer is not JSON`), this.meter.calls);
    }
  }

  async describe(object: string): Promise<SourceField[]> {
    const described = await this.json(`describe ${object}`, 'GET', this.path(`/sobjects/${soqlName(object)}/describe`));
    return sourceFields((described.fields as DescribedField[] | undefined) ?? []);
  }

  async count(read: SourceRead): Promise<number> {
    const soql = countChanged(read.object, read.filter, read.since);
    try {
      const page = await this.text(`count ${read.object}`, 'GET', this.path(`/query?q=${encodeURIComponent(soql)}`));
      return parseQueryPage(page.body, []).totalSize;
    } catch (error) {
      // The count names no field of the extract: a query Salesforce refuses here is refused for its filter.
      const failure = error instanceof SourceError ? error.failure : undefined;
      if (read.filter !== null && failure && (failure.code === 'SF_MALFORMED_QUERY' || failure.code === 'SF_INVALID_FIELD')) {
        throw new SourceError(sfReadCatalogue.failure('SF_FILTER_REFUSED', failure.message), this.meter.calls);
      }
      throw error;
    }
  }

  changed(read: SourceRead, bulk: boolean): AsyncIterable<SourceRecord[]> {
    const soql = selectChanged(read.object, read.fields, read.filter, read.since);
    return bulk ? this.bulkQuery(read.object, 'query', soql) : this.restQuery(read.object, 'query', soql);
  }

  private async *restQuery(object: string, endpoint: 'query' | 'queryAll', soql: string): AsyncIterable<SourceRecord[]> {
    const headers = { 'Sforce-Query-Options': `batchSize=${REST_BATCH_SIZE}` };
    let url: string | undefined = this.path(`/${endpoint}?q=${encodeURIComponent(soql)}`);
    let context = `${endpoint} ${object}`;
    while (url) {
      const answer = await this.text(context, 'GET', url, undefined, headers);
      const page = parseQueryPage(answer.body, null);
      if (page.records.length > 0) yield page.records;
      url = page.done ? undefined : page.nextRecordsUrl;
      context = `queryMore ${object}`;
    }
  }

  private async *bulkQuery(object: string, operation: 'query' | 'queryAll', soql: string): AsyncIterable<SourceRecord[]> {
    const job = await this.json(`open a Bulk API query job on ${object}`, 'POST', this.path('/jobs/query'), {
      operation,
      query: soql,
      contentType: 'CSV',
      columnDelimiter: 'COMMA',
      lineEnding: 'LF',
    });
    const id = String(job.id);
    let delay = this.settings.bulkPollMs;
    for (let polls = 1; ; polls++) {
      const info = await this.json(`Bulk API query job ${id}`, 'GET', this.path(`/jobs/query/${encodeURIComponent(id)}`));
      if (info.state === 'JobComplete') break;
      if (info.state === 'Failed' || info.state === 'Aborted')
        throw new SourceError(this.jobFailure(id, String(info.errorMessage ?? info.state)), this.meter.calls);
      if (polls >= MAX_POLLS)
        throw new SourceError(
          sfReadCatalogue.failure('SF_BULK_QUERY_FAILED', `Bulk API query job ${id} did not finish after ${polls} polls`),
          this.meter.calls,
        );
      await this.sleep(delay);
      delay = Math.min(Math.max(delay * 2, 1), MAX_POLL_DELAY_MS);
    }
    let locator: string | null = null;
    do {
      const query = `maxRecords=${this.settings.bulkPageSize}${locator ? `&locator=${encodeURIComponent(locator)}` : ''}`;
      const answer = await this.text(
        `Bulk API query job ${id} results`,
        'GET',
        this.path(`/jobs/query/${encodeURIComponent(id)}/results?${query}`),
        undefined,
        {
          Accept: 'text/csv',
        },
      );
      const next = answer.headers['sforce-locator'] ?? answer.headers['Sforce-Locator'];
      locator = next && next !== 'null' ? next : null;
      const rows = csvParse().parse(answer.body, { columns: true, skip_empty_lines: true, relax_column_count: false }) as Array<
        Record<string, string>
      >;
      // Bulk API CSV writes null as an empty cell.
      if (rows.length > 0) yield rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === '' ? null : v])));
    } while (locator);
  }

  /** A job failed as a whole; Salesforce names a missing field "Field name not found : X" or "No such column 'X'". */
  private jobFailure(id: string, errorMessage: string) {
    const missing = /Field name not found : (\w+)|No such column '(\w+)'/.exec(errorMessage);
    const message = `Bulk API query job ${id} failed: ${errorMessage}`;
    if (missing) {
      const failure = sfReadCatalogue.failure('SF_INVALID_FIELD', message);
      failure.fields = [missing[1] ?? missing[2]];
      return failure;
    }
    if (/INVALID_QUERY_LOCATOR/.test(errorMessage)) return sfReadCatalogue.failure('SF_INVALID_QUERY_LOCATOR', message);
    return sfReadCatalogue.failure('SF_BULK_QUERY_FAILED', message);
  }

  async deleted(object: string, since: Date, until: Date): Promise<{ ids: string[]; coveredUntil: Date }> {
    const window = `start=${encodeURIComponent(since.toISOString())}&end=${encodeURIComponent(until.toISOString())}`;
    let answer: Record<string, unknown>;
    try {
      answer = await this.json(`getDeleted ${object}`, 'GET', this.path(`/sobjects/${soqlName(object)}/deleted/?${window}`));
    } catch (error) {
      if (!(error instanceof SourceError) || error.failure.code !== 'SF_INVALID_REPLICATION_DATE') throw error;
      this.options.notice({
        kind: 'replication_fallback',
        reason: `getDeleted refused the window from ${since.toISOString()} (INVALID_REPLICATION_DATE); deletes read by a queryAll on ${STAMP_FIELD} instead`,
      });
      const ids: string[] = [];
      for await (const page of this.restQuery(object, 'queryAll', selectDeleted(object, since)))
        for (const r of page) ids.push(String(r[ID_FIELD]));
      return { ids, coveredUntil: until };
    }
    const records = (answer.deletedRecords as Array<{ id?: unknown }> | undefined) ?? [];
    const covered = typeof answer.latestDateCovered === 'string' ? new Date(textOf(answer.latestDateCovered)!) : until;
    return {
      ids: records.map((r) => (typeof r.id === 'string' ? r.id : '')).filter((id) => id !== ''),
      coveredUntil: Number.isNaN(covered.getTime()) ? until : covered,
    };
  }

  private usage: ApiUsage | undefined;

  lastUsage(): ApiUsage | undefined {
    return this.usage;
  }

  async close(): Promise<void> {}
}
