/**
 * Session settings every connection the engine opens gets first, so that keys, payloads and state
 * timestamps render the same whatever the machine's zone, the server's defaults or PGOPTIONS say.
 */

/** DuckDB's TimeZone defaults to the process's TZ; it decides how a TIMESTAMPTZ casts to text. */
export const DUCKDB_SESSION_SQL = `set TimeZone = 'UTC'`;

/**
 * PostgreSQL: the zone and date style decide how timestamps and dates cast to text, IntervalStyle
 * intervals, extra_float_digits = 1 the shortest exact float text (0 rounds to 15 digits), lc_monetary
 * and bytea_output how money and bytea render in JSON.
 */
export const POSTGRES_SESSION_SQL = [
  `set time zone 'UTC'`,
  `set datestyle = 'ISO, MDY'`,
  `set intervalstyle = 'postgres'`,
  `set extra_float_digits = 1`,
  `set lc_monetary = 'C'`,
  `set bytea_output = 'hex'`,
].join('; ');
