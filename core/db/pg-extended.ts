/**
 * Queries sent over PostgreSQL's extended protocol, where the server parses the text as one statement
 * and refuses several (the simple protocol runs `a; b` as two). pg 8.23 reads `queryMode`; its type
 * definitions do not list it yet.
 */
import type pg from 'pg';

export function oneStatement(text: string): pg.QueryConfig {
  return { text, queryMode: 'extended' } as pg.QueryConfig;
}

/** The same, rows as arrays: column order is kept even when two columns share a name. */
export function oneStatementAsArrays(text: string): pg.QueryArrayConfig {
  return { text, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig;
}
