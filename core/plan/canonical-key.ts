/**
 * The primary key as text, the same for the same value whatever its SQL type, engine, locale or time zone.
 * The snapshot is keyed on it, so `1` (integer), `1.0` (double) and `1.00` (decimal) must all be '1':
 * with `cast(x as text)` a column turned from integer to double gave DuckDB keys '1.0', every row looked
 * removed and re-added, and mirror deleted the rows it had just upserted.
 *
 * - integers, text, uuid, everything not below: `cast(x as text)` as before, so snapshots written by
 *   earlier versions keep their keys;
 * - float, double, decimal/numeric: the shortest decimal that reads back as the same value, in plain
 *   notation (no exponent), without trailing fractional zeros or point, '-0' as '0' (1e20 →
 *   '100000000000000000000', 1.5e-7 → '0.00000015'); not-a-number and infinities as 'NaN', 'Infinity',
 *   '-Infinity';
 * - timestamp with time zone: UTC, `YYYY-MM-DD HH:MM:SS[.ffffff]+00` without trailing fractional zeros;
 * - PostgreSQL date and timestamp: ISO, whatever the session's DateStyle.
 * The type is read in SQL (`typeof`, `pg_typeof`) so no query is needed to learn it; DuckDB folds the
 * test at bind time, PostgreSQL evaluates only the branch a row takes.
 */
export type SqlDialect = 'duckdb' | 'postgres';

/**
 * On one line: the planner puts the key expression before the model's SQL, and DuckDB's "LINE n" in an
 * error must stay the model file's line n. No literal here holds two spaces in a row.
 */
function oneLine(expression: string): string {
  return expression.replace(/\s+/g, ' ');
}

/** Trailing fractional zeros and a bare point go: '1.50' → '1.5', '1.00' → '1', '100' stays. */
function trimFractionSql(text: string): string {
  return `regexp_replace(${text}, '(\\.[0-9]*[1-9])0+$|\\.0+$', '\\1')`;
}

/** `-0` (from -0.0) is 0. */
function unsignZeroSql(text: string): string {
  return `regexp_replace(${text}, '^-0$', '0')`;
}

/**
 * DuckDB: `d[.ddd]e±x` (how DuckDB writes doubles from 1e16 and below 1e-4) in plain notation. The
 * digits are moved around the point as text, which is exact where a cast to DECIMAL would overflow.
 */
function duckdbPlainSql(t: string): string {
  const sign = `case when ${t} like '-%' then '-' else '' end`;
  const mantissa = `regexp_extract(${t}, '([0-9.]+)e', 1)`;
  const whole = `split_part(${mantissa}, '.', 1)`;
  const digits = `(${whole} || split_part(${mantissa}, '.', 2))`;
  // Where the point falls in `digits`.
  const point = `(length(${whole}) + cast(regexp_extract(${t}, 'e([-+]?[0-9]+)', 1) as integer))`;
  return `${sign} || case
      when ${point} >= length(${digits}) then ${digits} || repeat('0', ${point} - length(${digits}))
      when ${point} <= 0 then '0.' || repeat('0', -${point}) || ${digits}
      else left(${digits}, ${point}) || '.' || substr(${digits}, ${point} + 1)
    end`;
}

/**
 * A number's text, as either engine writes it (plain or with an exponent), in the canonical form.
 * `t` must be the text of a number; it is repeated in the expression, so pass a column or a cast.
 */
export function canonicalNumberSql(dialect: SqlDialect, t: string): string {
  if (dialect === 'postgres') {
    // numeric reads an exponent exactly and writes plain digits; 'NaN' and 'Infinity' are already canonical.
    const plain = `case when ${t} like '%e%' then cast(cast(${t} as numeric) as text) else ${t} end`;
    return `case when ${t} ~ '^-?[0-9]' then ${unsignZeroSql(trimFractionSql(plain))} else ${t} end`;
  }
  const plain = `case when ${t} like '%e%' then ${duckdbPlainSql(t)} else ${t} end`;
  return `case ${t} when 'nan' then 'NaN' when '-nan' then 'NaN' when 'inf' then 'Infinity' when '-inf' then '-Infinity'
    else ${unsignZeroSql(trimFractionSql(plain))} end`;
}

/** The canonical key text of the value `expr` (a column reference) in the warehouse's dialect. */
export function canonicalKeySql(dialect: SqlDialect, expr: string): string {
  if (dialect === 'postgres') {
    const text = `cast(${expr} as text)`;
    const type = `pg_typeof(${expr})`;
    // Branches re-read the value from its text so they type-check whatever the column's type is.
    const timestamp = (tz: boolean) => {
      const value = `cast(${text} as timestamp${tz ? 'tz' : ''})`;
      const utc = tz ? `${value} at time zone 'UTC'` : value;
      const iso = trimFractionSql(`to_char(${utc}, 'YYYY-MM-DD HH24:MI:SS.US')`);
      return `case when isfinite(${value}) then ${iso}${tz ? ` || '+00'` : ''} else ${text} end`;
    };
    const date = `cast(${text} as date)`;
    return oneLine(`case
      when ${type} in ('real'::regtype, 'double precision'::regtype, 'numeric'::regtype) then ${canonicalNumberSql(dialect, text)}
      when ${type} = 'timestamp with time zone'::regtype then ${timestamp(true)}
      when ${type} = 'timestamp without time zone'::regtype then ${timestamp(false)}
      when ${type} = 'date'::regtype then case when isfinite(${date}) then to_char(${date}, 'YYYY-MM-DD') else ${text} end
      else ${text}
    end`);
  }
  const text = `cast(${expr} as varchar)`;
  const type = `typeof(${expr})`;
  return oneLine(`case
      when ${type} in ('FLOAT', 'DOUBLE') or ${type} like 'DECIMAL%' then ${canonicalNumberSql(dialect, text)}
      when ${type} = 'TIMESTAMP WITH TIME ZONE'
        then cast(timezone('UTC', try_cast(${text} as timestamptz)) as varchar) || '+00'
      else ${text}
    end`);
}

/**
 * How two texts that address a destination record (a key, a destination id, a match field's value)
 * are compared: number-like texts in the canonical number form, so '1', '1.0' and '1e0' meet; any
 * other text as it is.
 */
export function addressSql(dialect: SqlDialect, t: string): string {
  const numeric = "'^-?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?$'";
  const test = dialect === 'postgres' ? `${t} ~ ${numeric}` : `regexp_full_match(${t}, ${numeric})`;
  return oneLine(`case when ${test} then ${canonicalNumberSql(dialect, t)} else ${t} end`);
}
