/**
 * sObject Collections bodies are JSON that Salesforce deserializes into each field's type before any
 * record is saved: a value it cannot read as the type (a date field given "hello", a number field given
 * "abc") fails the whole request with 400 JSON_PARSER_ERROR, whose message names the value, not the
 * field. Numbers and booleans may come as JSON strings of their text. [WIRE.md "sObject Collections"]
 */
import { RequestError } from '../errors.js';
import { blank, type SObjectStore, type SfRecord } from './sobject-store.js';

const NUMERIC = new Set(['int', 'double', 'currency', 'percent']);
const NUMBER_TEXT = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function readable(type: string, value: unknown): boolean {
  switch (type) {
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return typeof value === 'number' || (typeof value === 'string' && NUMBER_TEXT.test(value));
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'date':
      return typeof value === 'string' && DATE_TEXT.test(value);
    case 'datetime':
      return typeof value === 'string' && DATE_TIME_TEXT.test(value) && !Number.isNaN(Date.parse(value));
    default:
      return typeof value !== 'object';
  }
}

const token = (value: unknown) =>
  typeof value === 'string' ? 'VALUE_STRING' : typeof value === 'number' ? 'VALUE_NUMBER' : typeof value === 'boolean' ? 'VALUE_TRUE' : 'START_OBJECT';

/** The first value of `record` its field's type cannot read, or null; readable numeric and boolean text is converted in place. */
export function unreadableValue(store: SObjectStore, record: SfRecord): { name: string; type: string; value: unknown } | null {
  for (const [name, value] of Object.entries(record)) {
    if (name === 'attributes' || name === 'id' || blank(value)) continue;
    const type = store.fields.get(name)?.type ?? 'string';
    if (!readable(type, value)) return { name, type, value };
    if (typeof value === 'string' && type === 'boolean') record[name] = value === 'true';
    else if (typeof value === 'string' && NUMERIC.has(type) && value.replace(/\D/g, '').length <= 15) record[name] = Number(value);
  }
  return null;
}

/** Reads each value as its field's type, in place; throws the whole request's error for one that cannot be. */
export function readValueTypes(store: SObjectStore, records: SfRecord[]): void {
  for (const record of records) {
    const bad = unreadableValue(store, record);
    if (!bad) continue;
    throw new RequestError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${bad.type} from ${token(bad.value)} value ${String(bad.value)} or request may be missing a required field at [line:1, column:1]`,
    );
  }
}
