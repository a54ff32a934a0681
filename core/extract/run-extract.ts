/**
 * One run of an extract: a source's object read into its landed table, incrementally.
 *
 * 1. describe the object (a fresh describe each run): the fields to read, typed; the table is created
 *    or gains the columns of new fields;
 * 2. count what changed since the committed cursor less the overlap (`SELECT COUNT()`), which chooses
 *    REST query/queryMore or a Bulk API 2.0 query job (`api:`, `bulk_threshold`), as writes choose by
 *    rows to send; a filter Salesforce refuses stops the run here, naming the extract file's line;
 * 3. deletes since the last covered instant (getDeleted, or the source's fallback) are deleted from the
 *    table (no flag: the landed table mirrors the org);
 * 4. changed records, ordered by the stamp, are upserted page by page; after each page's commit the
 *    cursor moves to the newest stamp of that page. So a process killed at any instant restarts from a
 *    cursor whose every earlier record is landed, and re-reads land once (upsert on the id). A read that
 *    reaches its end moves the cursor to its start less the overlap, if that is later.
 *
 * Read-side healing (README "Read-side healing"):
 * - a query locator gone (INVALID_QUERY_LOCATOR) or a failed query job restarts the read from the
 *   committed cursor, at most MAX_RESTARTS times a run (event `query_restarted`);
 * - a field gone or unreadable (INVALID_FIELD / MALFORMED_QUERY on the read): re-describe, drop the
 *   fields the describe no longer shows from the query (their columns stay, unfilled; `field_dropped`
 *   names them) and resume; a second such failure pauses the extract with one `paused_by_policy` alert;
 * - what the source heals by itself (gzip retried uncompressed, deletes by query when getDeleted
 *   refuses the window) comes back as notices, recorded as events;
 * - refused credentials (after jsforce's refresh and replay) fail the run as `auth`: status shows
 *   `credentials_required`.
 */
import type { SourceClient, SourceConnector, SourceField, SourceNotice, SourceRead, SourceRecord } from '../../connectors/source.js';
import { SourceError } from '../../connectors/source.js';
import { getSource } from '../../connectors/source-registry.js';
import type { AlertDispatcher } from '../alert/dispatcher.js';
import type { ExtractConfig, ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { redact } from '../../shared/redact.js';
import type { LandingStore } from '../db/landing.js';
import {
  closeExtractRun,
  closeInterruptedExtractRuns,
  newExtractRunId,
  openExtractRun,
  readExtractCursor,
  recordExtractEvent,
  saveExtractCursor,
  type ExtractRunResult,
} from '../state/extract-state.js';
import { openStateStore, type StateStore } from '../state/state-store.js';
import { countCalls, recordUsage } from '../state/api-budget.js';
import { pausedAlerts } from './extract-alert.js';
import { openLanding } from './open-landing.js';

/** Restarts of a read after a lost locator or a failed job, per run: more means the org is unwell. */
const MAX_RESTARTS = 3;

export type ExtractOutcome = ExtractRunResult['status'] | 'skipped';

export interface ExtractReport {
  extract: string;
  run_id: string | null;
  status: ExtractOutcome;
  full_load: boolean;
  api: 'rest' | 'bulk' | null;
  rows_read: number;
  rows_deleted: number;
  api_calls: number;
  cursor_from: string | null;
  cursor_to: string | null;
  dropped_fields: string[];
  events: SourceNotice[];
  error: string | null;
  error_code: string | null;
  error_class: string | null;
}

export interface ExtractContext {
  project: ProjectConfig;
  now(): Date;
  /** Waits between Bulk API polls; real timers by default. */
  sleep?(ms: number): Promise<void>;
  alerts?: AlertDispatcher;
  emit?(event: Record<string, unknown>): void;
}

/** Stops the read once `max_calls_per_run` is spent: the rest is read by the next run. */
class BudgetSpent extends Error {}
/** Healing gave up: the extract is paused. */
class Paused extends Error {}

export async function runExtracts(context: ExtractContext, names: string[]): Promise<ExtractReport[]> {
  const reports: ExtractReport[] = [];
  for (const name of names) reports.push(await runExtract(context, name));
  return reports;
}

export async function runExtract(context: ExtractContext, name: string): Promise<ExtractReport> {
  const { project } = context;
  const extract = project.extracts[name];
  const source = project.sources[extract.source];
  const connector = getSource(source.type)!;
  const store = await openStateStore(project, { readOnly: false });
  try {
    return await new ExtractRun(context, extract, connector, store).run(source.settings);
  } finally {
    await store.close();
  }
}

class ExtractRun {
  private readonly report: ExtractReport;
  private readonly runId: string;
  private client: SourceClient | null = null;
  private landing: LandingStore | null = null;
  private cursorAt: Date | null = null;
  private dropped: string[] = [];

  constructor(
    private readonly context: ExtractContext,
    private readonly extract: ExtractConfig,
    private readonly connector: SourceConnector,
    private readonly store: StateStore,
  ) {
    this.runId = newExtractRunId(context.now());
    this.report = {
      extract: extract.name,
      run_id: this.runId,
      status: 'succeeded',
      full_load: false,
      api: null,
      rows_read: 0,
      rows_deleted: 0,
      api_calls: 0,
      cursor_from: null,
      cursor_to: null,
      dropped_fields: [],
      events: [],
      error: null,
      error_code: null,
      error_class: null,
    };
  }

  private get db() {
    return this.store.db;
  }

  private mask(text: string): string {
    return redact(oneLine(text), this.context.project.secrets);
  }

  async run(settings: Record<string, unknown>): Promise<ExtractReport> {
    const { extract, context } = this;
    const cursor = await readExtractCursor(this.db, extract.name);
    if (cursor.pausedReason !== null) {
      return {
        ...this.report,
        run_id: null,
        status: 'skipped',
        error: `paused: ${cursor.pausedReason}; resume with: hightouch-like resume-extract ${extract.name}`,
      };
    }
    await closeInterruptedExtractRuns(this.db, extract.name, context.now());
    this.cursorAt = cursor.cursorAt;
    this.dropped = cursor.droppedFields;
    this.report.full_load = cursor.cursorAt === null;
    this.report.cursor_from = cursor.cursorAt?.toISOString() ?? null;
    const startedAt = context.now();
    await openExtractRun(this.db, this.runId, extract.name, this.report.full_load, cursor.cursorAt, startedAt);
    context.emit?.({ type: 'extract_started', extract: extract.name, run_id: this.runId, full_load: this.report.full_load });
    try {
      this.client = await this.connector.open(settings, {
        name: extract.source,
        secrets: context.project.secrets,
        notice: (notice) => this.report.events.push({ kind: notice.kind, reason: this.mask(notice.reason) }),
        ...(context.sleep && { sleep: context.sleep }),
      });
      this.landing = await openLanding(context.project, this.store, {
        idField: this.connector.idField,
        stampField: this.connector.stampField,
      });
      await this.read(cursor.deletesAt, startedAt);
    } catch (error) {
      this.fail(error);
    } finally {
      this.report.api_calls = this.client?.apiCalls ?? 0;
      // The org's quota is shared with the write side: `api_budget` keeps what the source last reported.
      const usage = this.client?.lastUsage();
      if (usage) await recordUsage(this.db, `source:${extract.source}`, usage, context.now()).catch(() => {});
      if (this.report.api_calls > 0)
        await countCalls(this.db, `source:${extract.source}`, this.report.api_calls, context.now()).catch(() => {});
      await this.client?.close().catch(() => {});
      await this.landing?.close().catch(() => {});
    }
    this.report.cursor_to = this.cursorAt?.toISOString() ?? null;
    this.report.dropped_fields = this.dropped;
    const now = context.now();
    for (const event of this.report.events) await recordExtractEvent(this.db, extract.name, this.runId, event.kind, event.reason, now);
    await closeExtractRun(
      this.db,
      this.runId,
      {
        status: this.report.status as ExtractRunResult['status'],
        api: this.report.api,
        rowsRead: this.report.rows_read,
        rowsDeleted: this.report.rows_deleted,
        apiCalls: this.report.api_calls,
        cursorTo: this.cursorAt,
        errorCode: this.report.error_code,
        errorClass: this.report.error_class,
        error: this.report.error,
      },
      now,
    );
    context.emit?.({ type: 'extract_finished', ...this.report });
    return this.report;
  }

  private fail(error: unknown): void {
    if (error instanceof BudgetSpent) {
      this.report.status = 'deferred';
      this.report.error = error.message;
      return;
    }
    if (error instanceof Paused) {
      this.report.status = 'paused';
      this.report.error = error.message;
      return;
    }
    this.report.status = 'failed';
    if (error instanceof SourceError) {
      this.report.error_code = error.failure.code;
      this.report.error_class = error.failure.errorClass;
      this.report.error = this.mask(`${error.failure.message}. ${error.failure.remediation}`);
      if (error.failure.code === 'SF_FILTER_REFUSED') {
        const line = this.extract.lines.filter;
        this.report.error = this.mask(`${this.extract.file}:${line}: filter: ${error.failure.message}. fix the SOQL condition.`);
      }
      return;
    }
    if (error instanceof UserError) {
      this.report.error = this.mask(error.message);
      return;
    }
    this.report.error = this.mask((error as Error)?.message ?? String(error));
  }

  private spend(): void {
    const max = this.extract.max_calls_per_run;
    if (max !== undefined && this.client!.apiCalls >= max) {
      throw new BudgetSpent(
        `max_calls_per_run (${max}) reached after ${this.client!.apiCalls} calls; the next run reads on from the cursor`,
      );
    }
  }

  /** The fields to read: the extract's (or every readable one), less those healing dropped. */
  private async fieldsToRead(healing = false): Promise<SourceField[]> {
    const { extract } = this;
    const described = await this.client!.describe(extract.object);
    const byName = new Map(described.map((f) => [f.name, f]));
    const wanted = extract.fields === 'all' ? described.map((f) => f.name) : extract.fields;
    const missing = wanted.filter((f) => !byName.has(f) && !this.dropped.includes(f));
    if (missing.length > 0) {
      // A first run has nothing landed to keep: a missing field there is a typo in the extract file.
      if (!healing && this.report.full_load && this.cursorAt === null && extract.fields !== 'all') {
        throw new UserError(
          `${extract.file}:${extract.lines.fields ?? 1}: fields: ${extract.object} has no readable field ${missing.join(', ')}. fix the name (API names, custom ones end in __c) or grant read access.`,
        );
      }
      await this.drop(
        missing,
        healing ? 'Salesforce refused the query and the describe no longer shows it' : 'the describe no longer shows it',
      );
    }
    const keys = [this.connector.idField, this.connector.stampField];
    const chosen = wanted.filter((f) => byName.has(f) && !this.dropped.includes(f) && !keys.includes(f));
    return [...keys, ...chosen].map(
      (name) => byName.get(name) ?? { name, type: name === this.connector.stampField ? 'timestamptz' : 'text' },
    );
  }

  private async drop(fields: string[], why: string): Promise<void> {
    this.dropped = [...new Set([...this.dropped, ...fields])];
    await saveExtractCursor(this.db, this.extract.name, { droppedFields: this.dropped }, this.context.now());
    for (const field of fields) {
      this.report.events.push({
        kind: 'field_dropped',
        reason: `${this.extract.object}.${field} dropped from the query (${why}); its column stays, no longer filled`,
      });
    }
  }

  private async read(deletesAt: Date | null, startedAt: Date): Promise<void> {
    const { extract } = this;
    let fields = await this.fieldsToRead();
    await this.landing!.prepare(extract.table, fields);
    this.spend();

    const since = () => (this.cursorAt === null ? null : new Date(this.cursorAt.getTime() - extract.overlap_ms));
    const read = (): SourceRead => ({ object: extract.object, fields: fields.map((f) => f.name), filter: extract.filter, since: since() });
    const count = await this.client!.count(read());
    const bulk = extract.api === 'bulk' || (extract.api === 'auto' && count >= extract.bulk_threshold);
    this.report.api = bulk ? 'bulk' : 'rest';

    if (!this.report.full_load) {
      this.spend();
      const from = new Date((deletesAt ?? this.cursorAt!).getTime() - extract.overlap_ms);
      const { ids, coveredUntil } = await this.client!.deleted(extract.object, from, startedAt);
      if (ids.length > 0) await this.landing!.write(extract.table, fields, [], ids);
      this.report.rows_deleted += ids.length;
      await saveExtractCursor(this.db, extract.name, { deletesAt: coveredUntil }, this.context.now());
    }

    let restarts = 0;
    let healed = false;
    for (;;) {
      try {
        await this.readChanged(read(), fields, bulk);
        break;
      } catch (error) {
        if (!(error instanceof SourceError)) throw error;
        const { failure } = error;
        if (failure.errorClass === 'transient' && restarts < MAX_RESTARTS && failure.code !== 'SF_CORRUPT_GZIP') {
          restarts++;
          this.report.events.push({
            kind: 'query_restarted',
            reason: `${failure.code}: restarted the read from the committed cursor ${this.cursorAt?.toISOString() ?? '(full load)'}`,
          });
          continue;
        }
        if (failure.errorClass !== 'schema_drift') throw error;
        const reason = `${failure.code}: ${failure.message}`;
        if (healed) return this.pause(`the read failed again after healing: ${reason}`);
        const before = new Set(fields.map((f) => f.name));
        fields = await this.fieldsToRead(true);
        const gone = [...before].filter((f) => !fields.some((g) => g.name === f));
        if (gone.length === 0) return this.pause(`Salesforce refused the query and no field of it is gone: ${reason}`);
        healed = true;
      }
    }
    await this.readToEnd(startedAt);
    if (this.report.full_load) await saveExtractCursor(this.db, extract.name, { deletesAt: startedAt }, this.context.now());
  }

  private async readChanged(read: SourceRead, fields: SourceField[], bulk: boolean): Promise<void> {
    const stamp = this.connector.stampField;
    const max = this.extract.max_calls_per_run;
    const pages = this.client!.changed(read, bulk)[Symbol.asyncIterator]();
    let next = pages.next();
    try {
      for (;;) {
        const { value: page, done } = await next;
        if (done) break;
        // The next page is fetched while this one lands (unless that call would pass max_calls_per_run).
        const prefetched = max === undefined || this.client!.apiCalls + 1 < max;
        if (prefetched) {
          next = pages.next();
          next.catch(() => {});
        }
        await this.landing!.write(this.extract.table, fields, page, []);
        this.report.rows_read += page.length;
        const newest = newestStamp(page, stamp);
        // Only after the page is committed; a kill before this line re-reads the page, harmlessly.
        if (newest !== null && (this.cursorAt === null || newest > this.cursorAt)) {
          this.cursorAt = newest;
          await saveExtractCursor(this.db, this.extract.name, { cursorAt: newest }, this.context.now());
        }
        this.spend();
        if (!prefetched) next = pages.next();
      }
    } finally {
      await pages.return?.(undefined).catch(() => {});
    }
  }

  /**
   * A read that started at `startedAt` and went to its end has seen every record committed by then, so
   * every record stamped before `startedAt - overlap` (a transaction stamps when it starts and may commit
   * up to `overlap` later) is landed: the cursor moves there if it is further than the newest stamp.
   * This also keeps an old, quiet table from being re-read whole within the overlap on each run.
   */
  private async readToEnd(startedAt: Date): Promise<void> {
    const settled = new Date(startedAt.getTime() - this.extract.overlap_ms);
    if (this.cursorAt === null || settled > this.cursorAt) {
      this.cursorAt = settled;
      await saveExtractCursor(this.db, this.extract.name, { cursorAt: settled }, this.context.now());
    }
  }

  private async pause(reason: string): Promise<never> {
    const now = this.context.now();
    const masked = this.mask(reason);
    await saveExtractCursor(this.db, this.extract.name, { paused: { reason: masked } }, now);
    this.report.events.push({ kind: 'paused_by_policy', reason: masked });
    const outgoing = await pausedAlerts(this.context.project, this.store, this.extract.name, this.runId, masked, now);
    this.context.alerts?.dispatch(outgoing, (entry) => this.context.emit?.({ ...entry }));
    throw new Paused(masked);
  }
}

function newestStamp(page: SourceRecord[], stamp: string): Date | null {
  let newest: number | null = null;
  for (const row of page) {
    const value = row[stamp];
    if (!value) continue;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms) && (newest === null || ms > newest)) newest = ms;
  }
  return newest === null ? null : new Date(newest);
}
