/**
 * A model column's type as DuckDB (`DECIMAL(18,2)`, `TIMESTAMP WITH TIME ZONE`, `VARCHAR[]`) or
 * PostgreSQL's `format_type` (`numeric(18,2)`, `character varying(80)`, `text[]`) names it, sorted into
 * the families a destination compares against its fields (connectors/destination.ts `ColumnType`).
 */
import type { ColumnType } from '../../connectors/destination.js';

const KINDS: Array<[RegExp, ColumnType['kind']]> = [
  [/\[\]$|^(list|array)\b/, 'list'],
  [/^(struct|map|union|json|jsonb)\b/, 'json'],
  [/^(varchar|text|char|character|bpchar|string|uuid|name|citext)\b/, 'text'],
  [/^(tinyint|smallint|integer|int|bigint|hugeint|utinyint|usmallint|uinteger|ubigint|uhugeint|int[1248]|serial|bigserial)\b/, 'integer'],
  [/^(decimal|numeric)\b/, 'decimal'],
  [/^(float|double|real)\b/, 'float'],
  [/^bool/, 'boolean'],
  [/^date$/, 'date'],
  [/^timestamp.*with time zone$|^timestamptz$/, 'timestamptz'],
  [/^timestamp/, 'timestamp'],
  [/^time\b/, 'time'],
];

export function columnTypeOf(sql: string): ColumnType {
  const name = sql.trim().toLowerCase();
  const kind = KINDS.find(([pattern]) => pattern.test(name))?.[1] ?? 'other';
  const type: ColumnType = { kind, sql };
  const args = /^[a-z ]+\((\d+)(?:,\s*(\d+))?\)$/.exec(name);
  if (args && kind === 'text') type.length = Number(args[1]);
  if (args && kind === 'decimal') {
    type.precision = Number(args[1]);
    type.scale = Number(args[2] ?? 0);
  }
  return type;
}
