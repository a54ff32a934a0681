import pg from 'pg';

/**
 * Values as PostgreSQL's own row_to_json renders them, so a model hashes the same whether it is
 * diffed inside PostgreSQL or streamed: numerics and safe int8 as numbers, timestamps as text.
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
