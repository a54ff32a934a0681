/**
 * `sync_snapshots.row_hash_u64`: a stored row hash as a number, beside its text (migrations 15 and 16). A
 * DuckDB plan compares 64-bit numbers rather than parsing every stored text (core/plan/planner.ts). The
 * number is the hash's 64 bits read as unsigned: DuckDB's hashes are unsigned already, PostgreSQL's
 * (`hashtextextended`) are signed and a negative one is read as its two's complement (-1 as 2^64 - 1).
 * Within one hash function that is one-to-one, so equal numbers mean equal texts; hashes of two
 * functions are never compared (the planner's `sameFunction`). The text stays the record; the number is
 * null where the text is not such an integer (a legacy md5, a hash a write with dropped fields made),
 * and such a row counts as changed in a plan that reads the number, never as unchanged.
 */

/** 2^64: a negative signed hash plus this is its unsigned reading. */
const TWO_TO_64 = '18446744073709551616';

/** The number of stored hash text `text`, or null. */
export function rowHashNumberSql(dialect: 'duckdb' | 'postgres', text: string): string {
  if (dialect === 'duckdb') {
    // Every cast a try_cast: a positive text read as a bigint overflows the sum, which is then null, not an
    // error, however DuckDB evaluates the coalesce.
    return `coalesce(try_cast(${text} as ubigint), try_cast(try_cast(${text} as bigint)::hugeint + ${TWO_TO_64}::hugeint as ubigint))`;
  }
  // Nested cases: PostgreSQL does not promise to test the pattern before the cast in one condition.
  return `case when ${text} ~ '^-?[0-9]{1,20}$' then case
      when ${text}::numeric < -9223372036854775808 then null
      when ${text}::numeric < 0 then ${text}::numeric + ${TWO_TO_64}
      when ${text}::numeric < ${TWO_TO_64} then ${text}::numeric end end`;
}
