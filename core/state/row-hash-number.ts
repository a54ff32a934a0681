/**
 * `sync_snapshots.row_hash_u64`: a stored row hash as a number, beside its text (migration 15). A DuckDB
 * plan compares 64-bit numbers rather than parsing every stored text (core/plan/planner.ts). The text
 * stays the record; the number is null where the text is not a decimal integer the column holds (a
 * legacy md5, a hash a write with dropped fields made, and on DuckDB a negative one: PostgreSQL's signed
 * hashes of a PostgreSQL warehouse, whose plans compare the texts), and such a row counts as changed in
 * a plan that reads the number, never as unchanged.
 */
/** The number of stored hash text `text`, or null. PostgreSQL's hashes are signed; DuckDB's are not. */
export function rowHashNumberSql(dialect: 'duckdb' | 'postgres', text: string): string {
  return dialect === 'postgres' ? `case when ${text} ~ '^-?[0-9]{1,19}$' then ${text}::numeric(20, 0) end` : `try_cast(${text} as ubigint)`;
}
