/**
 * JSON with exact numbers. Payloads carry every digit of a bigint or decimal (9007199254740993,
 * 12345678901234567.89), which `JSON.parse` would round to the nearest double. Here a number that a JS
 * number holds exactly stays a number; any other becomes an `ExactNumber` keeping its digits, which
 * `stringifyExactJson` writes back as a bare JSON number.
 */

export class ExactNumber {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }

  /** Serialisers that know nothing of exact numbers (e.g. jsforce's) get the digits as a string. */
  toJSON(): string {
    return this.text;
  }
}

/** A NaN or ±Infinity in a payload: no JSON destination can take it, so the row fails alone. */
export class NonFiniteNumberError extends Error {
  constructor(
    readonly token: string,
    readonly field: string,
  ) {
    super(`${field} is ${token}`);
    this.name = 'NonFiniteNumberError';
  }
}

/**
 * Text with no run of 16 digits (or digits and a point), no 3-digit exponent and no NaN/Infinity after
 * a `:`, `,` or `[` has only numbers of at most 15 significant digits, which doubles hold exactly:
 * `JSON.parse` is enough. (A string can match too; it only costs the slower parse.)
 */
const MAYBE_INEXACT = /[0-9.]{16}|[eE][+-]?[0-9]{3}|[:,[] ?-?(?:NaN|Infinity|nan|inf)/;

export function parseExactJson(text: string): unknown {
  if (!MAYBE_INEXACT.test(text) || longNumbersRoundTrip(text)) return JSON.parse(text);
  const parser = new Parser(text);
  const value = parser.value('');
  parser.space();
  if (parser.at < text.length) parser.fail();
  return value;
}

/** Number-like runs of 16 or more characters, or with an exponent: the only ones a double may not hold. */
const LONG_NUMBER = /-?[0-9][0-9.]{15,}(?:[eE][+-]?[0-9]+)?|-?[0-9][0-9.]*[eE][+-]?[0-9]+/g;
const NON_FINITE_ANYWHERE = /[:,[] ?-?(?:NaN|Infinity|nan|inf)/;

/**
 * Whether `JSON.parse` keeps every long number of the text: each number token of 16 or more characters,
 * or with an exponent, reads back as the same text from the double it parses to. A DOUBLE printed in its
 * shortest form (`1234.5714285714287`, 17 digits) does; a BIGINT past 2^53 or a DECIMAL(38,2) does not.
 * Tokens inside strings only make the answer more careful. Wide rows of doubles then skip the slow
 * parser (the worker-scaling bench's 60-column rows: about 4 × faster).
 */
function longNumbersRoundTrip(text: string): boolean {
  if (NON_FINITE_ANYWHERE.test(text)) return false;
  for (const match of text.matchAll(LONG_NUMBER)) {
    if (String(Number(match[0])) !== match[0]) return false;
  }
  return true;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** As PostgreSQL (`NaN`, `-Infinity`) and DuckDB (`nan`, `-inf`) print them. */
const NON_FINITE = /-?(?:Infinity|NaN|inf|nan)/y;
const SPACE = /[ \t\n\r]*/y;

class Parser {
  at = 0;

  constructor(private readonly text: string) {}

  fail(): never {
    throw new SyntaxError(`invalid JSON at position ${this.at}`);
  }

  space() {
    SPACE.lastIndex = this.at;
    SPACE.exec(this.text);
    this.at = SPACE.lastIndex;
  }

  value(field: string): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object(field);
    if (c === '[') return this.array(field);
    if (c === '"') return this.string();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    NON_FINITE.lastIndex = this.at;
    const nonFinite = NON_FINITE.exec(this.text);
    if (nonFinite) throw new NonFiniteNumberError(/nan/i.test(nonFinite[0]) ? 'NaN' : nonFinite[0].replace(/inf$/, 'Infinity'), field);
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail();
    this.at = NUMBER.lastIndex;
    return exactNumber(match[0]);
  }

  string(): string {
    let end = this.at + 1;
    for (;;) {
      const quote = this.text.indexOf('"', end);
      if (quote < 0) this.fail();
      let backslashes = 0;
      while (this.text[quote - 1 - backslashes] === '\\') backslashes++;
      end = quote + 1;
      if (backslashes % 2 === 0) break;
    }
    const value = JSON.parse(this.text.slice(this.at, end)) as string;
    this.at = end;
    return value;
  }

  object(field: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.at++;
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail();
      const key = this.string();
      this.space();
      if (this.text[this.at++] !== ':') this.fail();
      // Nested values are reported under the top-level field: that is what the user mapped.
      out[key] = this.value(field || key);
      this.space();
      const c = this.text[this.at++];
      if (c === '}') return out;
      if (c !== ',') this.fail();
    }
  }

  array(field: string): unknown[] {
    const out: unknown[] = [];
    this.at++;
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value(field));
      this.space();
      const c = this.text[this.at++];
      if (c === ']') return out;
      if (c !== ',') this.fail();
    }
  }
}

/** A number token as a JS number when that number denotes exactly the same value, else an ExactNumber. */
function exactNumber(token: string): number | ExactNumber {
  const n = Number(token);
  return Number.isFinite(n) && sameDecimal(token, String(n)) ? n : new ExactNumber(token);
}

/** Whether two decimal texts (optionally with exponents) denote the same value. */
function sameDecimal(a: string, b: string): boolean {
  const x = decimalParts(a);
  const y = decimalParts(b);
  return x.negative === y.negative && x.digits === y.digits && x.exponent === y.exponent;
}

/** `-12.50e3` → digits "125", exponent of the last digit 1: value = ±digits × 10^exponent. */
function decimalParts(text: string): { negative: boolean; digits: string; exponent: number } {
  const match = /^(-?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text)!;
  let digits = (match[2] + (match[3] ?? '')).replace(/^0+/, '');
  let exponent = Number(match[4] ?? 0) - (match[3]?.length ?? 0);
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  if (digits === '') return { negative: false, digits: '0', exponent: 0 };
  return { negative: match[1] === '-', digits, exponent };
}

/**
 * `JSON.stringify` that writes each ExactNumber as a bare number with its digits. The ExactNumbers
 * pass through as strings tagged with a random marker that no real string can carry, then lose the
 * quotes and the marker.
 */
export function stringifyExactJson(value: unknown): string {
  let exact = false;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    if (this[key] instanceof ExactNumber) {
      exact = true;
      return MARKER + (this[key] as ExactNumber).text;
    }
    return typeof v === 'bigint' ? v.toString() : v;
  });
  return exact ? text.replace(MARKED, '$1') : text;
}

const MARKER = `\u0000exact-${Math.random().toString(36).slice(2)}:`;
const MARKED = new RegExp(`"\\\\u0000${MARKER.slice(1)}([-+.0-9eE]+)"`, 'g');
