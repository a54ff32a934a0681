/**
 * The per-batch commit, the heart of "acknowledged means synced": in one transaction, the snapshot
 * log takes the acknowledged rows, the changelog records every attempted row, the failed-row index
 * drops the rows that succeeded and records those that failed, and the run's counters move.
 * A row's snapshot entry changes only through here, only after the destination said yes.
 *
 * The executor hands over every batch that finished during the previous commit (group commit). On
 * DuckDB the acknowledged rows' snapshot-log and changelog rows are copied from the plan table by seq
 * inside the database (copyPlainSql: 100 commits of 1,000 rows cost 0.27 s there, off the main thread);
 * the other rows (failed, aborted, a dropped field's hash) are appended (transact.ts: DuckDB's Appender,
 * 11 ms of main-thread CPU for 1,000 rows against 17 ms as INSERTs from a JSON literal). The failed-row
 * index statements take their rows as one JSON text the database unpacks. A commit costs the size of
 * the group, not of the snapshot (see snapshot-log.ts).
 */
import type { Failure } from '../../connectors/destination.js';
import type { PlannedRow } from './plan-table.js';
import type { StateStore } from './state-store.js';
import { transact, type TableAppend } from './transact.js';
import { quoteLiteral as literal } from '../db/sql-text.js';
import { isWellFormedText, storableText } from './sanitize-text.js';
import { FAILURE_COLUMNS, failureRows, recordFailuresSql, removeFailuresSql, type FailureRow } from './failed-row-index.js';
import type { FailedRowsPolicy } from '../config/types.js';
import { nextSlot } from '../config/schedule-slots.js';
import { forgetBulkJobsSql } from './bulk-jobs.js';

/** What a commit needs to know of the sync to record failures: its policy, mapping and clock. */
export interface CommitPolicy {
  policy: FailedRowsPolicy;
  mappingHash: string;
  now: () => Date;
}

/** A row's outcome as the executor reports it; `sends` counts the calls that carried the row. */
export type DeliveredRow =
  | { key: string; status: 'succeeded'; destinationId: string | null; sends: number }
  | { key: string; status: 'failed'; failure: Failure; sends: number }
  /** Never acknowledged because the run stopped (auth or fatal failure); re-sent next run. */
  | { key: string; status: 'aborted'; failure?: Failure; sends: number };

export interface BatchOutcome {
  /** The write operation of the batch; each planned row keeps its own op for the logs. */
  op: PlannedRow['op'];
  planned: PlannedRow[];
  /** Outcomes of the rows not in `plain`. */
  delivered: DeliveredRow[];
  /** Rows acknowledged with the hash the plan gave them (deliver-batch.ts `plain`). */
  plain?: PlannedRow[];
  /** Plain rows acknowledged under a new destination id, by seq; the others keep the plan's. */
  newIds?: Array<[seq: number, id: string]>;
  apiCalls: number;
  /** The Bulk API job whose results these are: forgotten in the same transaction (core/state/bulk-jobs.ts). */
  bulkJobId?: string;
}

type Dialect = StateStore['dialect'];

/** A derived table of text columns `cols` from a JSON array of objects keyed by them, inlined as a literal. */
function jsonRows<C extends string>(dialect: Dialect, rows: Array<Record<C, string | null>>, cols: readonly C[]): string {
  const json = literal(JSON.stringify(rows));
  if (dialect === 'postgres') return `(select * from json_to_recordset(${json}::json) as r(${cols.map((c) => `${c} text`).join(', ')}))`;
  return `(select unnest(from_json(${json}, '[{${cols.map((c) => `"${c}":"VARCHAR"`).join(',')}}]'), recursive := true))`;
}

/** A derived table of one text column `primary_key` from a list of keys. */
function jsonKeys(dialect: Dialect, keys: string[]): string {
  const json = literal(JSON.stringify(keys));
  if (dialect === 'postgres') return `(select json_array_elements_text(${json}::json) as primary_key)`;
  return `(select unnest(from_json(${json}, '["VARCHAR"]')) as primary_key)`;
}

/** `<column> is one of keys`, as a semi-join on the keys unpacked from one JSON literal. */
function keyIn(dialect: Dialect, column: string, keys: string[]): string {
  return `${column} in (select x.primary_key from ${jsonKeys(dialect, keys)} as x)`;
}

/** What a commit appends: the snapshot log takes the acknowledged rows, the changelog every attempted one. */
const SNAPSHOT_LOG_COLUMNS = ['sync_name', 'primary_key', 'row_hash', 'destination_id', 'synced_at', 'run_id'] as const;
const CHANGELOG_COLUMNS = ['run_id', 'sync_name', 'primary_key', 'op', 'status', 'error_code', 'error_message', 'at'] as const;

export async function commitBatches(
  store: StateStore,
  runId: string,
  syncName: string,
  outcomes: BatchOutcome[],
  redactText: (text: string) => string,
  commitPolicy: CommitPolicy,
): Promise<void> {
  const clockNow = commitPolicy.now();
  const now = clockNow.toISOString();
  const { dialect } = store;

  let succeeded = 0;
  let failed = 0;
  let apiCalls = 0;
  const acknowledged: Array<Array<string | null>> = [];
  const recovered: string[] = [];
  const failures: FailureRow[] = [];
  const attempted: Array<Array<string | null>> = [];
  // A destination's words are masked, then made storable; its ids are kept as given (they address
  // the record later), so an id the state store cannot hold fails the commit, and the run.
  const storable = (f: Failure): Failure => ({
    ...f,
    code: storableText(f.code),
    message: storableText(redactText(f.message)),
    remediation: f.remediation === undefined ? undefined : storableText(redactText(f.remediation)),
  });

  // Plain rows (the common case): on DuckDB copied from the plan table by their seq, inside the
  // database, rather than appended value by value from the main thread (about 8 µs a row there).
  const copied = dialect === 'duckdb';
  const plainSeqs: number[] = [];
  const plainDeleteSeqs: number[] = [];
  const newIds: Array<[number, string]> = [];
  for (const outcome of outcomes) {
    apiCalls += outcome.apiCalls;
    const plain = outcome.plain ?? [];
    succeeded += plain.length;
    const ids = new Map(outcome.newIds);
    for (const planned of plain) {
      if (planned.retrying !== false) recovered.push(planned.pk);
      const id = ids.get(planned.seq) ?? planned.destination_id;
      // The plan's own ids came from the state store; only a new one needs the check.
      if (id !== planned.destination_id) assertStorableId(planned.pk, id);
      if (copied) {
        if (outcome.op === 'delete') plainDeleteSeqs.push(planned.seq);
        else {
          plainSeqs.push(planned.seq);
          if (id !== planned.destination_id) newIds.push([planned.seq, id!]);
        }
      } else {
        attempted.push([runId, syncName, planned.pk, planned.op, 'succeeded', null, null, now]);
        acknowledged.push(
          outcome.op === 'delete'
            ? [syncName, planned.pk, null, null, now, runId]
            : [syncName, planned.pk, planned.row_hash!, id, now, runId],
        );
      }
    }
    if (outcome.delivered.length === 0) continue;
    const plannedByKey = new Map(outcome.planned.map((p) => [p.pk, p]));
    for (const row of outcome.delivered) {
      const planned = plannedByKey.get(row.key)!;
      const failure = row.status === 'succeeded' || !row.failure ? undefined : storable(row.failure);
      attempted.push([runId, syncName, row.key, planned.op, row.status, failure?.code ?? null, failure?.message ?? null, now]);
      if (row.status === 'succeeded') {
        succeeded++;
        // Only a row the plan found in the failed-row index can be there: a row is sent once per run.
        if (planned.retrying !== false) recovered.push(row.key);
        assertStorableId(row.key, row.destinationId);
        // A delete is logged with no hash: folding the log removes the key from the snapshot.
        acknowledged.push(
          outcome.op === 'delete'
            ? [syncName, row.key, null, null, now, runId]
            : [syncName, row.key, planned.row_hash!, row.destinationId, now, runId],
        );
      } else if (row.status === 'failed') {
        failed++;
        failures.push({
          key: row.key,
          op: planned.op,
          sends: row.sends,
          failure: failure!,
          destinationId: planned.destination_id,
          rowHash: planned.row_hash,
        });
      }
    }
  }

  const statements: string[] = copyPlainSql(runId, syncName, now, { seqs: plainSeqs, deleteSeqs: plainDeleteSeqs, newIds });
  // The acknowledged and attempted rows are appended (transact.ts): the bulk of a commit, a few µs a row.
  const appends: TableAppend[] = [
    { table: 'sync_snapshot_log', columns: SNAPSHOT_LOG_COLUMNS, rows: acknowledged },
    { table: 'sync_changelog', columns: CHANGELOG_COLUMNS, rows: attempted },
  ];
  if (recovered.length) statements.push(removeFailuresSql(syncName, keyIn(dialect, 'primary_key', recovered)));
  if (failures.length) {
    const { policy, mappingHash } = commitPolicy;
    const nextQueueSlot = nextSlot(policy.timeout_queue, clockNow)!;
    const context = { policy, mappingHash, now: clockNow, nextQueueSlot };
    statements.push(recordFailuresSql(syncName, runId, context, jsonRows(dialect, failureRows(failures), FAILURE_COLUMNS)));
  }
  statements.push(...forgetBulkJobsSql(outcomes.flatMap((o) => (o.bulkJobId ? [o.bulkJobId] : []))));
  // The run's counters, in the same transaction as the rows they count.
  statements.push(`update sync_runs set rows_succeeded = rows_succeeded + ${succeeded}, rows_failed = rows_failed + ${failed},
      api_calls = api_calls + ${apiCalls} where run_id = ${literal(runId)}`);
  await transact(store, statements, appends);
}

/**
 * A destination's id is stored as given or not at all: the Appender would store a lone surrogate as
 * U+FFFD and DuckDB's JSON reader would refuse it, and an id changed so would address another record.
 */
function assertStorableId(key: string, id: string | null): void {
  if (id !== null && !isWellFormedText(id)) {
    throw new Error(`the destination gave row ${key} an id that is not valid text, which cannot be stored as given`);
  }
}

/** `seq` is one of `seqs`, as the ranges they form: a group's batches are mostly consecutive. */
function seqIn(seqs: number[]): string {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(i === j ? `seq = ${sorted[i]}` : `seq between ${sorted[i]} and ${sorted[j]}`);
    i = j + 1;
  }
  // The outer bounds let DuckDB skip the plan table's other row groups by their min/max.
  return `seq >= ${sorted[0]} and seq <= ${sorted.at(-1)} and (${ranges.join(' or ')})`;
}

/**
 * The snapshot-log and changelog rows of the plain rows, copied from `ht_plan` (the planner's temp
 * table, on the connection the commit runs on): the same values the Appender would take from the
 * planned rows, which were read from that table. New destination ids travel as one JSON text.
 */
function copyPlainSql(
  runId: string,
  syncName: string,
  now: string,
  { seqs, deleteSeqs, newIds }: { seqs: number[]; deleteSeqs: number[]; newIds: Array<[number, string]> },
): string[] {
  const [run, sync, at] = [literal(runId), literal(syncName), `cast(${literal(now)} as timestamptz)`];
  const statements: string[] = [];
  // Deletes log no id: only the other rows' statement reads the new ones.
  const ids = newIds.length ? literal(JSON.stringify(newIds.map(([s, d]) => ({ s, d })))) : null;
  const log = (where: string, deleted: boolean) => {
    const [id, joined] = ids
      ? [
          'coalesce(n.d, cast(p.destination_id as varchar))',
          `left join (select unnest(from_json(${ids}, '[{"s":"BIGINT","d":"VARCHAR"}]'), recursive := true)) n on n.s = p.seq`,
        ]
      : ['p.destination_id', ''];
    return `insert into sync_snapshot_log (sync_name, primary_key, row_hash, destination_id, synced_at, run_id)
      select ${sync}, p.pk, ${deleted ? 'null, null' : `p.row_hash, ${id}`}, ${at}, ${run} from ht_plan p ${deleted ? '' : joined}
      where ${where}`;
  };
  if (seqs.length) statements.push(log(seqIn(seqs), false));
  if (deleteSeqs.length) statements.push(log(seqIn(deleteSeqs), true));
  const all = [...seqs, ...deleteSeqs];
  if (all.length) {
    statements.push(`insert into sync_changelog (run_id, sync_name, primary_key, op, status, error_code, error_message, "at")
      select ${run}, ${sync}, pk, op, 'succeeded', null, null, ${at} from ht_plan where ${seqIn(all)}`);
  }
  return statements;
}
