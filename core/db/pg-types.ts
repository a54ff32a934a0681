import pg from 'pg';

/**
 * How state-store results reach JS (counts, `query`, `status`): safe int8 and numerics as numbers,
 * timestamps as PostgreSQL's text. Payloads never pass through here: the warehouse's SQL writes them
 * as JSON text (core/plan/payload-sql.ts).
 */
export function getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
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
      return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  }
}
