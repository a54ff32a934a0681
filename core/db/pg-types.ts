import type pg from 'pg';

/** The `pg` module, loaded on first use (`loadPg`). */
export type Pg = typeof pg;

let loading: Promise<Pg> | undefined;

/**
 * Loads `pg` the first time a PostgreSQL session is opened: a DuckDB project never opens one, and
 * importing `pg` (with pg-copy-streams, beside it in warehouse.ts) was 40 ms of every CLI start.
 */
export function loadPg(): Promise<Pg> {
  loading ??= import('pg').then((module) => module.default);
  return loading;
}

/**
 * How state-store results reach JS (counts, `query`, `status`): safe int8 and numerics as numbers,
 * timestamps as PostgreSQL's text. Payloads never pass through here: the warehouse's SQL writes them
 * as JSON text (core/plan/payload-sql.ts).
 */
export function stateTypeParsers(driver: Pg): { getTypeParser: (oid: number, format?: 'text' | 'binary') => (value: string) => unknown } {
  return {
    getTypeParser(oid, format) {
      switch (oid) {
        case 20: // int8
          return (v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
        case 1700: // numeric
          return (v) => Number(v);
        case 1082: // date
        case 1114: // timestamp
        case 1184: // timestamptz
          return (v) => v;
        default:
          return driver.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
      }
    },
  };
}
