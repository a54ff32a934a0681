/** Writes batches to one postgres table: one statement per write, over the worker's single connection. */
import type { Kysely } from 'kysely';
import type { SyncMode } from '../../destination.js';
import {
  DestinationError,
  type DestinationClient,
  type OutboundRow,
  type RowOp,
  type RowResult,
  type WriteOutcome,
} from '../../destination.js';
import { stringifyExactJson } from '../../../shared/exact-json.js';
import { rowKeyValue } from '../sync-key.js';
import { openDatabase } from './database.js';
import { classifyPgError, pgCatalogue } from './errors.js';
import type { PostgresTarget } from './settings.js';
import { deleteStatement, insertStatement, updateStatement, upsertStatement } from './statements.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** One row of the statement's batch and every sent row that shares its key. */
interface Slot {
  keyText: string;
  doc: Record<string, unknown>;
  rowKeys: string[];
}

export class PostgresClient implements DestinationClient {
  private readonly db: Kysely<any>;

  constructor(
    private readonly target: PostgresTarget,
    private readonly mode: SyncMode,
    connections: number,
  ) {
    this.db = openDatabase(target.url, CONNECT_TIMEOUT_MS, connections);
  }

  async write(op: RowOp, rows: OutboundRow[]): Promise<WriteOutcome> {
    const { key, label } = this.target;
    const results: RowResult[] = [];
    const slots = new Map<string, Slot>();
    for (const row of rows) {
      const value = rowKeyValue(row, key);
      if (value === undefined) {
        const why = op === 'delete' ? 'was never acknowledged with an external id' : `has no value for ${key.field}`;
        results.push({ key: row.key, ok: false, failure: pgCatalogue.failure('PG_NO_KEY', `row ${row.key} ${why}`) });
        continue;
      }
      const doc: Record<string, unknown> = {};
      if (op !== 'delete') for (const column of this.target.columns) doc[column] = row.fields[column];
      doc[key.field] = value;
      // Later changes to a key win; one statement may not touch a row twice (ON CONFLICT would refuse).
      const keyText = String(value);
      const slot = slots.get(keyText);
      if (slot) {
        slot.doc = doc;
        slot.rowKeys.push(row.key);
      } else {
        slots.set(keyText, { keyText, doc, rowKeys: [row.key] });
      }
    }
    if (slots.size === 0) return { results, apiCalls: 0 };

    const batch = [...slots.values()];
    // Every digit of a number reaches jsonb, which keeps it exact for a numeric or bigint column.
    const json = stringifyExactJson(batch.map((s) => s.doc));
    let matched: Set<number> | null = null;
    try {
      if (op === 'delete') {
        await deleteStatement(this.target, json).execute(this.db);
      } else if (this.mode === 'update') {
        const out = await updateStatement(this.target, json).execute(this.db);
        matched = new Set(out.rows.map((r) => Number(r.n)));
      } else if (this.mode === 'insert') {
        await insertStatement(this.target, json).execute(this.db);
      } else {
        await upsertStatement(this.target, json).execute(this.db);
      }
    } catch (error) {
      // Postgres refuses the whole statement for one bad row; a `rejected` class lets the core split the batch.
      throw new DestinationError(classifyPgError(error, `${op} on ${label}`, this.target.secrets), 1);
    }

    batch.forEach((slot, index) => {
      const found = matched === null || matched.has(index + 1);
      for (const rowKey of slot.rowKeys) {
        if (!found) {
          const message = `no row of ${label} has ${key.field} = ${slot.keyText}`;
          results.push({ key: rowKey, ok: false, failure: pgCatalogue.failure('NOT_FOUND', message) });
        } else if (key.external && op !== 'delete') {
          // Remembered by the core so a later delete, which carries no fields, can still address the row.
          results.push({ key: rowKey, ok: true, destinationId: slot.keyText });
        } else {
          results.push({ key: rowKey, ok: true });
        }
      }
    });
    return { results, apiCalls: 1 };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
