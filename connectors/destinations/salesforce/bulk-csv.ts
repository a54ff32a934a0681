/**
 * Rows as Bulk API 2.0 CSV, value for value what a sObject Collections body would carry:
 * - null, and the empty string (which REST also stores as null), are `#N/A`: an empty CSV value would
 *   leave the field as it was;
 * - numbers keep every digit (an `ExactNumber` is written as its text), booleans are `true`/`false`,
 *   datetimes are the payload's UTC text (`2026-01-01T08:30:00Z`), JSON values their JSON text;
 * - a value holding the delimiter, a quote or a line break is quoted, quotes doubled (RFC 4180).
 * The text `#N/A` itself cannot be written: Bulk API 2.0 would store null.
 */
import { lazyRequire } from '../../../shared/lazy-require.js';
import { ExactNumber, stringifyExactJson } from '../../../shared/exact-json.js';

// Bulk API 2.0 jobs only: a run of fewer rows, and every CLI start, never writes a CSV.
const csvStringify = lazyRequire<typeof import('csv-stringify/sync')>('csv-stringify/sync');

export const NULL_VALUE = '#N/A';

/** The CSV text of a value, or null when the value is the text `#N/A`. */
export function csvCell(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return NULL_VALUE;
  if (value === NULL_VALUE) return null;
  if (typeof value === 'string') return value;
  if (value instanceof ExactNumber) return value.text;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return stringifyExactJson(value);
}

/** A header row and data rows as LF-terminated CSV, quoting only where needed. */
export function csvText(header: string[], rows: string[][]): string {
  return csvStringify().stringify([header, ...rows], { record_delimiter: 'unix' });
}
