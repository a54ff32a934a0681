/**
 * Values coerced to the described type of their Salesforce field before anything is sent, the same for
 * sObject Collections and Bulk API 2.0 CSV (README "Salesforce: field types"). A value that cannot go
 * into its field without losing something fails its row here, with a blocking code, at no API call:
 * - text fields (string, textarea, email, phone, url, picklist, reference, …): scalars as text, at most
 *   `length` characters (SF_STRING_TOO_LONG, never cut);
 * - multipicklist: a list, or a `;`-joined text, as `;`-joined text;
 * - boolean: true/false, the text `true`/`false` in any case, the numbers 0 and 1; nothing else;
 * - int: whole numbers within ±2,147,483,647 (32 bits, as Salesforce stores them);
 * - double, currency, percent: at most `scale` fraction digits (SF_NUMBER_LOSES_DIGITS, never rounded)
 *   and `precision − scale` integer digits; every digit kept (an `ExactNumber` when a double cannot);
 * - date: `YYYY-MM-DD`, or a timestamp at exactly midnight with no zone or UTC;
 * - datetime: ISO 8601, sent in UTC (`2026-03-01T11:34:56.5Z`); a timestamp or text without a zone is
 *   taken as UTC, a date as its midnight UTC. Salesforce keeps milliseconds: finer digits are cut.
 * - time: `HH:MM[:SS[.fff]]` as `HH:MM:SS.fffZ`.
 * Null, and the empty text (which Salesforce stores as null), stay null for every type but text.
 */
import { ExactNumber } from '../../../shared/exact-json.js';
import { clip } from '../../../shared/redact.js';
import type { Failure, OutboundRow, RowResult } from '../../destination.js';
import { sfCatalogue } from '../../salesforce/errors.js';

/** What coercion needs of a described field. */
export interface FieldShape {
  type: string;
  /** Characters, for text types; 0 when not bounded. */
  length: number;
  /** Total and fraction digits of double, currency and percent; 0 when not given. */
  precision: number;
  scale: number;
}

/** Mapped field → its shape, from the object's describe. */
export type ObjectShape = Record<string, FieldShape>;

export type CoercionCode = 'SF_STRING_TOO_LONG' | 'SF_VALUE_NOT_OF_TYPE' | 'SF_NUMBER_LOSES_DIGITS' | 'SF_NUMBER_OUTSIDE_VALID_RANGE';

export type Coerced = { ok: true; value: unknown } | { ok: false; code: CoercionCode; message: string };

export const TEXT_TYPES = new Set([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'combobox',
  'reference',
  'id',
  'encryptedstring',
]);
export const DECIMAL_TYPES = new Set(['double', 'currency', 'percent']);
/** Salesforce `int` fields hold 32-bit signed values. */
const INT_MAX = 2_147_483_647n;
const INT_MAX_NUMBER = 2_147_483_647;
/** Values quoted in messages are cut, so a hostile 1 MB value does not make a 1 MB message. */
const QUOTE_CHARS = 40;

const quote = (value: unknown) => {
  const text = typeof value === 'string' ? value : value instanceof ExactNumber ? value.text : JSON.stringify(value);
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text);
};

/**
 * A value refused. Coercers return the coerced value itself or one of these, so the common case
 * allocates no `{ ok, value }` wrapper per value (a 100k-row write coerces a million values).
 */
class Refusal {
  constructor(
    readonly code: CoercionCode,
    readonly message: string,
  ) {}
}

const fail = (code: CoercionCode, message: string) => new Refusal(code, message);
const notOfType = (field: string, shape: FieldShape, value: unknown, expected: string) =>
  fail('SF_VALUE_NOT_OF_TYPE', `${field} is a ${shape.type} field; ${quote(value)} is not ${expected}`);

/** Coerces one non-null value of a field: the value to send, or a Refusal. */
type Coercer = (field: string, shape: FieldShape, value: unknown) => unknown;

const asIs: Coercer = (_field, _shape, value) => value;
const textOf: Coercer = (field, shape, value) => bounded(field, shape, asText(value), value);

/** The coercer of a type, chosen once per field rather than by a chain of tests per value. */
function coercerOf(type: string): Coercer {
  if (TEXT_TYPES.has(type)) return textOf;
  // address, location, base64, anyType …: sent as the model gives them.
  const typed = TYPED_COERCERS.get(type) ?? asIs;
  // The empty text is null for every type but text (Salesforce stores it as null).
  return (field, shape, value) => (value === '' ? null : typed(field, shape, value));
}

export function coerceValue(field: string, shape: FieldShape, value: unknown): Coerced {
  const out = value === null || value === undefined ? null : coercerOf(shape.type)(field, shape, value);
  return out instanceof Refusal ? { ok: false, code: out.code, message: out.message } : { ok: true, value: out };
}

function asText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof ExactNumber) return value.text;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return null;
}

function bounded(field: string, shape: FieldShape, text: string | null, value: unknown): string | Refusal {
  if (text === null) return notOfType(field, shape, value, 'text');
  if (shape.length > 0 && text.length > shape.length) {
    return fail('SF_STRING_TOO_LONG', `${field}: ${text.length} characters, the field holds ${shape.length}: ${quote(text)}`);
  }
  return text;
}

function multiPicklist(field: string, shape: FieldShape, value: unknown): unknown {
  if (!Array.isArray(value)) return bounded(field, shape, asText(value), value);
  const items = value.filter((item) => item !== null && item !== '').map(asText);
  if (items.some((item) => item === null || item.includes(';'))) return notOfType(field, shape, value, 'a list of values without ";"');
  return bounded(field, shape, items.join(';'), value);
}

function booleanOf(field: string, shape: FieldShape, value: unknown): unknown {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (value === 0 || value === 1) return value === 1;
  return notOfType(field, shape, value, 'true, false, 0 or 1');
}

/** A number as sign, digits and the exponent of the last digit; null when it is not a plain decimal. */
interface Decimal {
  negative: boolean;
  /** No leading or trailing zeros; "0" for zero. */
  digits: string;
  exponent: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

function decimalOf_(value: unknown): Decimal | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : asText(value);
  const match = text === null ? null : DECIMAL_TEXT.exec(text);
  if (!match || (match[2] === '' && !match[3]) || typeof value === 'boolean') return null;
  let digits = `${match[2]}${match[3] ?? ''}`;
  let exponent = Number(match[4] ?? 0) - (match[3]?.length ?? 0);
  digits = digits.replace(/^0+/, '');
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  if (trimmed === '') return { negative: false, digits: '0', exponent: 0 };
  return { negative: match[1] === '-', digits: trimmed, exponent };
}

const fractionDigits = (d: Decimal) => Math.max(0, -d.exponent);
const integerDigits = (d: Decimal) => (d.digits === '0' ? 0 : Math.max(0, d.digits.length + d.exponent));

/** Plain decimal text, no exponent: "-12.5", "100000000000000000000". */
function plain(d: Decimal): string {
  const sign = d.negative ? '-' : '';
  if (d.exponent >= 0) return sign + d.digits + '0'.repeat(d.exponent);
  const point = d.digits.length + d.exponent;
  return point > 0 ? `${sign}${d.digits.slice(0, point)}.${d.digits.slice(point)}` : `${sign}0.${'0'.repeat(-point)}${d.digits}`;
}

/**
 * A JS number when it prints back as the same digits, else the digits kept as an ExactNumber. At most
 * 15 significant digits between 1e-300 and 1e300 always print back (doubles hold 15 decimal digits),
 * which spares the two re-parses below for nearly every value.
 */
function exact(d: Decimal): number | ExactNumber {
  const text = plain(d);
  const n = Number(text);
  const lead = d.digits.length + d.exponent;
  if (d.digits.length <= 15 && lead > -300 && lead < 300) return n;
  const back = decimalOf_(n);
  const want = decimalOf_(text);
  return back && want && back.digits === want.digits && back.exponent === want.exponent && back.negative === want.negative
    ? n
    : new ExactNumber(text);
}

function integerOf(field: string, shape: FieldShape, value: unknown): unknown {
  // A whole JS number within 32 bits is already what the decimal path below would give (-0 as 0).
  if (typeof value === 'number' && Number.isInteger(value) && value <= INT_MAX_NUMBER && value >= -INT_MAX_NUMBER - 1) return value + 0;
  const d = decimalOf_(value);
  if (!d) return notOfType(field, shape, value, 'a number');
  if (fractionDigits(d) > 0) return fail('SF_NUMBER_LOSES_DIGITS', `${field} holds whole numbers; ${quote(value)} would lose its fraction`);
  const whole = BigInt(plain(d));
  if (whole > INT_MAX || whole < -INT_MAX - 1n) {
    return fail('SF_NUMBER_OUTSIDE_VALID_RANGE', `${field} holds 32-bit whole numbers; ${quote(value)} is outside ±2147483647`);
  }
  return Number(whole);
}

/**
 * A finite JS number that fits the field is sent as it is (-0 as 0): that is what the path below gives
 * for it, read from the digits `String` prints (no exponent: the fraction has no trailing zero, the
 * integer part no leading one). A number that does not fit takes the path below for its message.
 */
function fitsAsNumber(shape: FieldShape, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (shape.precision <= 0) return true;
  const text = String(value);
  if (text.includes('e')) return false;
  const dot = text.indexOf('.');
  const fraction = dot < 0 ? 0 : text.length - dot - 1;
  const whole = text.slice(text.startsWith('-') ? 1 : 0, dot < 0 ? text.length : dot);
  return fraction <= shape.scale && (whole === '0' ? 0 : whole.length) <= shape.precision - shape.scale;
}

function decimalOf(field: string, shape: FieldShape, value: unknown): unknown {
  if (typeof value === 'number' && fitsAsNumber(shape, value)) return value + 0;
  const d = decimalOf_(value);
  if (!d) return notOfType(field, shape, value, 'a number');
  if (shape.precision > 0) {
    if (fractionDigits(d) > shape.scale) {
      return fail('SF_NUMBER_LOSES_DIGITS', `${field} keeps ${shape.scale} decimal places; ${quote(value)} would be rounded`);
    }
    if (integerDigits(d) > shape.precision - shape.scale) {
      const most = shape.precision - shape.scale;
      return fail('SF_NUMBER_OUTSIDE_VALID_RANGE', `${field} holds at most ${most} digits before the point; ${quote(value)} has more`);
    }
  }
  return exact(d);
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dateOf(field: string, shape: FieldShape, value: unknown): unknown {
  const text = typeof value === 'string' ? value : '';
  const m = DATE_TIME.exec(text);
  if (!m || !validDay(Number(m[1]), Number(m[2]), Number(m[3]))) return notOfType(field, shape, value, 'a date (YYYY-MM-DD)');
  const midnight = !m[4] || (Number(m[4]) === 0 && Number(m[5]) === 0 && Number(m[6] ?? 0) === 0 && !/[1-9]/.test(m[7] ?? ''));
  const utc = !m[8] || /^(Z|z|[+-]00(:?00)?)$/.test(m[8]);
  if (!midnight || !utc) return notOfType(field, shape, value, 'a date: its time of day or zone would be lost');
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function dateTimeOf(field: string, shape: FieldShape, value: unknown): unknown {
  const m = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  const expected = 'an ISO 8601 date and time';
  if (!m) return notOfType(field, shape, value, expected);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59) return notOfType(field, shape, value, expected);
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && !/^[Zz]$/.test(zone)) {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
    if (Math.abs(offsetMinutes) > 18 * 60) return notOfType(field, shape, value, expected);
  }
  const millis = (m[7] ?? '').slice(0, 3).replace(/0+$/, '');
  const fraction = millis ? `.${millis}` : '';
  // Already in UTC (no zone, Z, or +00:00): the Date round trip below would give back the same fields,
  // and every 4-digit year is in range, so the text is put together as it is (most warehouse timestamps).
  if (offsetMinutes === 0) return `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${fraction}Z`;
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  at.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const iso = at.toISOString();
  if (!/^\d{4}-/.test(iso)) return notOfType(field, shape, value, `${expected} between years 0000 and 9999 in UTC`);
  return `${iso.slice(0, 19)}${fraction}Z`;
}

function timeOf(field: string, shape: FieldShape, value: unknown): unknown {
  const m = typeof value === 'string' ? /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?Z?$/.exec(value) : null;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return notOfType(field, shape, value, 'a time (HH:MM:SS)');
  return `${m[1]}:${m[2]}:${m[3] ?? '00'}.${(m[4] ?? '').slice(0, 3).padEnd(3, '0')}Z`;
}

const TYPED_COERCERS = new Map<string, Coercer>([
  ['multipicklist', multiPicklist],
  ['boolean', booleanOf],
  ['int', integerOf],
  ...[...DECIMAL_TYPES].map((type): [string, Coercer] => [type, decimalOf]),
  ['date', dateOf],
  ['datetime', dateTimeOf],
  ['time', timeOf],
]);

/** The shapes of the `mapped` fields a describe lists (`fields` of `GET /sobjects/{T}/describe`). */
export function shapeOf(
  described: Array<{ name: string; type: string; length?: number; precision?: number; scale?: number }>,
  mapped: string[],
): ObjectShape {
  const wanted = new Set(mapped);
  const shape: ObjectShape = {};
  for (const f of described) {
    if (!wanted.has(f.name)) continue;
    shape[f.name] = { type: f.type, length: f.length ?? 0, precision: f.precision ?? 0, scale: f.scale ?? 0 };
  }
  return shape;
}

/** Per mapped field: its shape and coercer, built once per describe (the shape object), not per value. */
const plans = new WeakMap<ObjectShape, Map<string, { shape: FieldShape; coerce: Coercer }>>();

function planOf(shape: ObjectShape): Map<string, { shape: FieldShape; coerce: Coercer }> {
  let plan = plans.get(shape);
  if (!plan) {
    plan = new Map(Object.entries(shape).map(([name, field]) => [name, { shape: field, coerce: coercerOf(field.type) }]));
    plans.set(shape, plan);
  }
  return plan;
}

/** Each row's fields coerced to `shape`; a row with a value that does not fit fails alone, with its first such field. */
export function coerceRows(shape: ObjectShape, rows: OutboundRow[], results: RowResult[], secrets: string[]): OutboundRow[] {
  const plan = planOf(shape);
  const sent: OutboundRow[] = [];
  for (const row of rows) {
    const given = row.fields;
    const fields: Record<string, unknown> = {};
    let failure: Failure | null = null;
    for (const name in given) {
      if (!Object.hasOwn(given, name)) continue;
      const value = given[name];
      const field = plan.get(name);
      if (!field || value === null || value === undefined) {
        fields[name] = field ? null : value;
        continue;
      }
      const coerced = field.coerce(name, field.shape, value);
      if (coerced instanceof Refusal) {
        failure = sfCatalogue.failure(coerced.code, clip(`row ${row.key}: ${coerced.message} (checked before sending)`, 400, secrets));
        failure.fields = [name];
        break;
      }
      fields[name] = coerced;
    }
    if (failure) results.push({ key: row.key, ok: false, failure });
    else sent.push({ ...row, fields });
  }
  return sent;
}
