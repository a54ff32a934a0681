import { ExactNumber, stringifyExactJson } from './exact-json.js';

/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvLine(values: unknown[]): string {
  return values.map(csvField).join(',') + '\n';
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  // An exact number is its digits; lists and objects are JSON, their numbers exact too.
  const text = value instanceof ExactNumber ? value.text : typeof value === 'object' ? stringifyExactJson(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
