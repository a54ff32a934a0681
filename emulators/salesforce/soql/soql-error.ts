/**
 * A refused query, worded as Salesforce words it: the query line, a caret under the offending token,
 * `ERROR at Row:r:Column:c` and what was wrong (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE).
 */
import { RequestError } from '../errors.js';

export class SoqlError extends RequestError {
  constructor(errorCode: string, soql: string, at: number, detail: string) {
    super(400, errorCode, pointAt(soql, at, detail));
  }
}

function pointAt(soql: string, at: number, detail: string): string {
  const before = soql.slice(0, at).split('\n');
  const row = before.length;
  const column = before[before.length - 1].length + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}
