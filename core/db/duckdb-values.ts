/**
 * DuckDB's JS values → plain values for state-store results and `query` output. Payloads never pass
 * through here: the warehouse's SQL writes them as JSON text (core/plan/payload-sql.ts).
 */
import { DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBDateValue, DuckDBDecimalValue } from './duckdb-api.js';

export function toPlainValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    // Micros since the epoch, UTC for both types.
    return new Date(Number(value.micros / 1000n)).toISOString();
  }
  // Decimals become numbers: the state tables hold none, so only a `query` of the user's shows them.
  if (value instanceof DuckDBDecimalValue) return Number(value.toString());
  if (value instanceof DuckDBDateValue) return value.toString();
  if (typeof value === 'object') return String(value);
  return value;
}
