/**
 * Coercion of values to their described Salesforce field types (README "Salesforce: field types"), and
 * the preflight comparison of model column types (as DuckDB and PostgreSQL name them) with the fields.
 * Mostly pure functions: the end-to-end path
 * through jsforce and the emulator is in salesforce-types.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compareColumns } from '../connectors/destinations/salesforce/column-fit.js';
import { coerceValue, type FieldShape } from '../connectors/destinations/salesforce/field-coercion.js';
import pg from 'pg';
import { columnTypeOf } from '../core/db/column-type.js';
import { DuckDBWarehouse, PostgresWarehouse } from '../core/db/warehouse.js';
import { DuckDBInstance } from '../core/db/duckdb-api.js';
import { PG_BASE } from './support/postgres-admin.js';
import { ExactNumber } from '../shared/exact-json.js';

const shape = (type: string, extra: Partial<FieldShape> = {}): FieldShape => ({ type, length: 0, precision: 0, scale: 0, ...extra });
const ok = (type: string, value: unknown, extra?: Partial<FieldShape>) => {
  const out = coerceValue('F__c', shape(type, extra), value);
  if (!out.ok) throw new Error(`${type} ${String(value)}: ${out.message}`);
  return out.value;
};
const code = (type: string, value: unknown, extra?: Partial<FieldShape>) => {
  const out = coerceValue('F__c', shape(type, extra), value);
  return out.ok ? `ok:${String(out.value)}` : out.code;
};

describe('coercion to described field types', () => {
  it('sends dates as YYYY-MM-DD, and refuses a time of day, a zone other than UTC, or an impossible day', () => {
    expect(ok('date', '2024-02-29')).toBe('2024-02-29');
    expect(ok('date', '2024-02-29T00:00:00')).toBe('2024-02-29');
    expect(ok('date', '2024-02-29T00:00:00.000Z')).toBe('2024-02-29');
    expect(code('date', '2023-02-29')).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('date', '2024-02-29T10:00:00')).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('date', '2024-02-29T00:00:00+02:00')).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('date', '29/02/2024')).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('date', 20240229)).toBe('SF_VALUE_NOT_OF_TYPE');
  });

  it('sends datetimes in UTC, reads a value without a zone as UTC, and keeps milliseconds', () => {
    expect(ok('datetime', '2026-03-01T12:34:56.5+02:00')).toBe('2026-03-01T10:34:56.5Z');
    expect(ok('datetime', '2026-03-01T00:30:00-05:30')).toBe('2026-03-01T06:00:00Z');
    expect(ok('datetime', '2026-12-31T23:30:00-01:00')).toBe('2027-01-01T00:30:00Z');
    expect(ok('datetime', '2026-03-01 12:34:56')).toBe('2026-03-01T12:34:56Z');
    expect(ok('datetime', '2026-03-01T12:34:56.123456Z')).toBe('2026-03-01T12:34:56.123Z');
    expect(ok('datetime', '2026-03-01')).toBe('2026-03-01T00:00:00Z');
    expect(code('datetime', '2026-03-01T25:00:00Z')).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('datetime', 'yesterday')).toBe('SF_VALUE_NOT_OF_TYPE');
  });

  it('keeps every digit of a decimal and refuses one that would be rounded or is too large', () => {
    const currency = { precision: 18, scale: 2 };
    expect(ok('currency', '12.50', currency)).toBe(12.5);
    expect(ok('currency', 1e15, currency)).toBe(1e15);
    expect(ok('currency', new ExactNumber('1234567890123456.78'), currency)).toEqual(new ExactNumber('1234567890123456.78'));
    expect(ok('currency', '-0.10', currency)).toBe(-0.1);
    expect(code('currency', '12.345', currency)).toBe('SF_NUMBER_LOSES_DIGITS');
    expect(code('currency', 0.1 + 0.2, currency)).toBe('SF_NUMBER_LOSES_DIGITS');
    expect(code('currency', '12345678901234567', currency)).toBe('SF_NUMBER_OUTSIDE_VALID_RANGE');
    expect(code('percent', '1,5', { precision: 5, scale: 2 })).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('double', 'NaN', { precision: 18, scale: 0 })).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(ok('double', '1e3', { precision: 18, scale: 0 })).toBe(1000);
  });

  it('sends whole numbers within 32 bits to int fields', () => {
    expect(ok('int', '42')).toBe(42);
    expect(ok('int', 42.0)).toBe(42);
    expect(ok('int', '-2147483648')).toBe(-2147483648);
    expect(code('int', 2147483648)).toBe('SF_NUMBER_OUTSIDE_VALID_RANGE');
    expect(code('int', new ExactNumber('9007199254740993'))).toBe('SF_NUMBER_OUTSIDE_VALID_RANGE');
    expect(code('int', 1.5)).toBe('SF_NUMBER_LOSES_DIGITS');
    expect(code('int', true)).toBe('SF_VALUE_NOT_OF_TYPE');
  });

  it('is strict about booleans: true/false in any case, 0 and 1, nothing else', () => {
    expect(ok('boolean', 'TRUE')).toBe(true);
    expect(ok('boolean', 'false')).toBe(false);
    expect(ok('boolean', 1)).toBe(true);
    expect(ok('boolean', 0)).toBe(false);
    for (const value of ['yes', 'Y', '1', 2, ' true']) expect(code('boolean', value)).toBe('SF_VALUE_NOT_OF_TYPE');
  });

  it('joins multi-picklists with ";" and refuses an item holding ";"', () => {
    expect(ok('multipicklist', ['Hot', 'Cold'])).toBe('Hot;Cold');
    expect(ok('multipicklist', 'Hot;Cold')).toBe('Hot;Cold');
    expect(code('multipicklist', ['Hot;Cold', 'Warm'])).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(code('multipicklist', ['Hot', 'Cold'], { length: 7 })).toBe('SF_STRING_TOO_LONG');
  });

  it('refuses text longer than the field instead of cutting it, and sends numbers to text fields as their digits', () => {
    expect(code('string', 'x'.repeat(81), { length: 80 })).toBe('SF_STRING_TOO_LONG');
    expect(ok('string', 'x'.repeat(80), { length: 80 })).toBe('x'.repeat(80));
    expect(ok('string', new ExactNumber('9007199254740993'), { length: 80 })).toBe('9007199254740993');
    expect(code('string', { a: 1 }, { length: 80 })).toBe('SF_VALUE_NOT_OF_TYPE');
    expect(ok('string', '', { length: 80 })).toBe('');
    expect(ok('date', '')).toBe(null);
  });
});

describe('preflight comparison of column types with fields', () => {
  const schema = {
    Due__c: shape('date'),
    Amount__c: shape('currency', { precision: 18, scale: 2 }),
    Name: shape('string', { length: 80 }),
    Active__c: shape('boolean'),
  };
  const compare = (field: string, sql: string) => compareColumns(schema, [{ field, column: 'c', type: columnTypeOf(sql) }]);

  it('is an error when no value of the column type can go into the field', () => {
    expect(compare('Due__c', 'BOOLEAN')).toMatchObject([{ severity: 'error', field: 'Due__c' }]);
    expect(compare('Due__c', 'timestamp with time zone')[0].message).toBe(
      'column "c" is timestamp with time zone, which cannot go into Due__c (date)',
    );
    expect(compare('Active__c', 'DATE')).toMatchObject([{ severity: 'error' }]);
    expect(compare('Name', 'VARCHAR[]')).toMatchObject([{ severity: 'error' }]);
  });

  it('warns when some values may not fit, and says nothing when all do', () => {
    expect(compare('Amount__c', 'DECIMAL(18,4)')).toMatchObject([{ severity: 'warning' }]);
    expect(compare('Amount__c', 'numeric(20,2)')[0].message).toMatch(/more than 16 digits before the point/);
    expect(compare('Name', 'character varying(120)')[0].message).toMatch(/longer than 80 characters fail their row \(SF_STRING_TOO_LONG\)/);
    expect(compare('Due__c', 'VARCHAR')).toMatchObject([{ severity: 'warning' }]);
    expect(compare('Amount__c', 'DECIMAL(10,2)')).toEqual([]);
    expect(compare('Name', 'character varying(80)')).toEqual([]);
    expect(compare('Due__c', 'DATE')).toEqual([]);
    expect(compare('Active__c', 'boolean')).toEqual([]);
  });
});

describe('model column types as the warehouses name them', () => {
  const model = {
    name: 'm',
    file: 'models/m.sql',
    sql: "select 1.5::numeric(18,4) as amount, 'x'::varchar(80) as name, now() as at, current_date as day, true as flag, 1::bigint as n, ['a']::varchar[] as tags",
  };
  const kinds = (columns: Array<{ name: string; type: string }>) =>
    columns.map((c) => {
      const { sql: _sql, ...type } = columnTypeOf(c.type);
      return { name: c.name, ...type };
    });
  const expected = [
    { name: 'amount', kind: 'decimal', precision: 18, scale: 4 },
    { name: 'name', kind: 'text', length: 80 },
    { name: 'at', kind: 'timestamptz' },
    { name: 'day', kind: 'date' },
    { name: 'flag', kind: 'boolean' },
    { name: 'n', kind: 'integer' },
    { name: 'tags', kind: 'list' },
  ];

  it('reads DuckDB and PostgreSQL types into the same families', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const duck = new DuckDBWarehouse(await instance.connect(), () => instance.closeSync());
    try {
      const columns = await duck.columns(model);
      // DuckDB keeps no length on VARCHAR: a text of unknown length.
      expect(kinds(columns)).toEqual(expected.map((c) => (c.name === 'name' ? { name: 'name', kind: 'text' } : c)));
    } finally {
      await duck.close();
    }
    const client = new pg.Client({ connectionString: PG_BASE });
    await client.connect();
    const postgres = new PostgresWarehouse(client);
    try {
      const columns = await postgres.columns({ ...model, sql: model.sql.replace("['a']::varchar[]", "array['a']::varchar[]") });
      expect(columns.map((c) => c.type)).toEqual([
        'numeric(18,4)',
        'character varying(80)',
        'timestamp with time zone',
        'date',
        'boolean',
        'bigint',
        'character varying[]',
      ]);
      expect(kinds(columns)).toEqual(expected);
    } finally {
      await postgres.close();
    }
  });
});
