/** DuckDB's JS values → plain JSON-friendly values for the rest of the program. */
import { DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBDateValue, DuckDBDecimalValue } from '@duckdb/node-api';

export function toPlainValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    // Micros since the epoch, UTC for both types.
    return new Date(Number(value.micros / 1000n)).toISOString();
  }
  // Decimals become numbers, as DuckDB's own JSON functions render them.
  if (value instanceof DuckDBDecimalValue) return Number(value.toString());
  if (value instanceof DuckDBDateValue) return value.toString();
  if (typeof value === 'object') return String(value);
  return value;
}
