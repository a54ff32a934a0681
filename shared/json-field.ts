/**
 * One top-level field of a JSON object text, read without parsing the others. A write thread needs a
 * row's key field to address it (connectors/destinations/sync-key.ts), and parsing the whole payload
 * of every row only for that cost the HTTP write thread about a tenth of its CPU at 0 ms latency.
 */
import { parseExactJson } from './exact-json.js';

/**
 * `{ value }` with the field's value as `parseExactJson` gives it inside the whole text (`value`
 * undefined when the object has no such field; the last one when it has several, as in a whole parse),
 * or null when the scan finds the text not to be one object: the caller then parses it whole, and
 * meets the error a whole parse gives. Only the object's frame and the field's own value are checked;
 * the other values are skipped, not validated (payloads are JSON the database built). Strings are
 * skipped by their closing quote, so a `"field":` inside a string value, or a field of a nested
 * object, is never taken for the field.
 */
export function jsonField(text: string, name: string): { value: unknown } | null {
  let at = space(text, 0);
  if (text[at] !== '{') return null;
  at = space(text, at + 1);
  let token: string | undefined;
  if (text[at] === '}') return space(text, at + 1) === text.length ? { value: undefined } : null;
  for (;;) {
    if (text[at] !== '"') return null;
    const keyEnd = stringEnd(text, at);
    if (keyEnd < 0) return null;
    let key = text.slice(at + 1, keyEnd - 1);
    if (key.includes('\\')) {
      try {
        key = JSON.parse(text.slice(at, keyEnd)) as string;
      } catch {
        return null;
      }
    }
    at = space(text, keyEnd);
    if (text[at] !== ':') return null;
    at = space(text, at + 1);
    const valueEnd = valueEndAt(text, at);
    if (valueEnd < 0) return null;
    if (key === name) token = text.slice(at, valueEnd);
    at = space(text, valueEnd);
    if (text[at] === ',') {
      at = space(text, at + 1);
      continue;
    }
    if (text[at] !== '}' || space(text, at + 1) !== text.length) return null;
    if (token === undefined) return { value: undefined };
    try {
      return { value: parseExactJson(token) };
    } catch {
      return null;
    }
  }
}

/** The index after JSON whitespace from `at`. */
function space(text: string, at: number): number {
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    at++;
  }
  return at;
}

/** The index after the string that opens at `at` (a quote), or -1 if it never closes. */
function stringEnd(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * The index after the value that starts at `at`, or -1. Objects and arrays by their brackets, strings
 * inside them skipped; a scalar runs to the next separator (its own validity is the parser's to judge).
 */
function valueEndAt(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        const end = stringEnd(text, i);
        if (end < 0) return -1;
        i = end - 1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = at;
  while (i < text.length && !',}] \t\n\r'.includes(text[i])) i++;
  return i === at ? -1 : i;
}
