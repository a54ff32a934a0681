/**
 * `@duckdb/node-api`, loaded with `require`. It is a CommonJS package of about 180 modules that re-export
 * each other; imported from an ES module, Node first scans every one of them for its export names. Measured
 * on 2 idle cores: 290 ms to import it against 140 ms to require it, in each CLI start and each DuckDB-using
 * process. Every value this code takes from the package comes through here; types may still be imported.
 */
import { createRequire } from 'node:module';
import type * as DuckDB from '@duckdb/node-api';

const api = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

export const DuckDBInstance = api.DuckDBInstance;
export type DuckDBInstance = DuckDB.DuckDBInstance;
export const StatementType = api.StatementType;
export type StatementType = DuckDB.StatementType;
export const DuckDBTimestampTZValue = api.DuckDBTimestampTZValue;
export type DuckDBTimestampTZValue = DuckDB.DuckDBTimestampTZValue;
export const DuckDBTimestampValue = api.DuckDBTimestampValue;
export type DuckDBTimestampValue = DuckDB.DuckDBTimestampValue;
export const DuckDBDateValue = api.DuckDBDateValue;
export type DuckDBDateValue = DuckDB.DuckDBDateValue;
export const DuckDBDecimalValue = api.DuckDBDecimalValue;
export type DuckDBDecimalValue = DuckDB.DuckDBDecimalValue;
