/**
 * SOQL's tokens: names, keywords (any letter case), string literals with backslash escapes, numbers,
 * date and date-time literals (`2026-01-01`, `2026-01-01T00:00:00Z`, `…+02:00`), punctuation and
 * comparison operators. Each token keeps its offset so an error can point at it, as Salesforce's do.
 */
import { SoqlError } from './soql-error.js';

export type TokenKind = 'name' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'op' | 'end';

export interface Token {
  kind: TokenKind;
  /** The source text; for strings, the unescaped value. */
  text: string;
  at: number;
}

/** SOQL string escapes (Salesforce's "Quoted String Escape Sequences"); `\%` and `\_` stay escaped for LIKE. */
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\' };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.]*/;
const OPS = ['<=', '>=', '!=', '<>', '=', '<', '>'];

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = soql.slice(i);
    if (c === "'") {
      const { value, end } = readString(soql, i);
      tokens.push({ kind: 'string', text: value, at: i });
      i = end;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, at: i++ });
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    const literal = DATETIME.exec(rest) ?? DATE.exec(rest);
    if (literal) {
      tokens.push({ kind: literal[0].includes('T') ? 'datetime' : 'date', text: literal[0], at: i });
      i += literal[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at: i });
      i += number[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], at: i });
      i += name[0].length;
      continue;
    }
    throw new SoqlError('MALFORMED_QUERY', soql, i, `unexpected token: '${c}'`);
  }
  tokens.push({ kind: 'end', text: '<EOF>', at: soql.length });
  return tokens;
}

function readString(soql: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < soql.length) {
    const c = soql[i];
    if (c === "'") return { value, end: i + 1 };
    if (c === '\\') {
      const next = soql[i + 1];
      if (next === '%' || next === '_') value += `\\${next}`;
      else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(soql.slice(i + 2, i + 6))) {
        value += String.fromCharCode(Number.parseInt(soql.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      } else if (next !== undefined && next in ESCAPES) value += ESCAPES[next];
      else throw new SoqlError('MALFORMED_QUERY', soql, i, `Invalid string literal '${soql.slice(start, i + 2)}'. Illegal character sequence '\\${next ?? ''}' in string literal.`);
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  throw new SoqlError('MALFORMED_QUERY', soql, start, `unexpected token: '${soql.slice(start)}'`);
}
