/**
 * Records as text, exactly: REST answers are parsed with exact numbers (a currency of 18 digits keeps
 * them all), booleans become `true`/`false`, and Salesforce's `+0000` offsets become `+00:00`, which
 * DuckDB and PostgreSQL both read. Bulk API CSV values are text already; an empty cell is null.
 */
import { ExactNumber, parseExactJson } from '../../../shared/exact-json.js';
import type { SourceRecord } from '../../source.js';

export function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof ExactNumber) return value.text;
  if (typeof value === 'string') return value.replace(/^(\d{4}-\d\d-\d\dT[\d:.]+)([+-]\d\d)(\d\d)$/, '$1$2:$3');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SourceRecord[];
}

export function parseQueryPage(body: string, fields: readonly string[] | null): QueryPage {
  const page = parseExactJson(body) as { totalSize?: unknown; done?: unknown; nextRecordsUrl?: unknown; records?: unknown };
  const records = Array.isArray(page.records) ? (page.records as Array<Record<string, unknown>>) : [];
  return {
    totalSize: Number(page.totalSize instanceof ExactNumber ? page.totalSize.text : (page.totalSize ?? 0)),
    done: page.done !== false,
    ...(typeof page.nextRecordsUrl === 'string' && { nextRecordsUrl: page.nextRecordsUrl }),
    records: records.map((record) => {
      const row: SourceRecord = {};
      for (const name of fields ?? Object.keys(record).filter((k) => k !== 'attributes')) row[name] = textOf(record[name]);
      return row;
    }),
  };
}
