/**
 * Preflight: does each mapped model column fit its described Salesforce field? An error when no value
 * of the column's type can go into the field (a boolean into a date, a list into a text field, a
 * TIMESTAMPTZ into a date, whose day would depend on a zone); a warning when some values may not (a
 * `varchar(120)` into a text field of 80, a `DECIMAL(18,4)` into a currency field of scale 2, a
 * TIMESTAMP into a date, text into a date): those rows then fail one by one with the code
 * `field-coercion.ts` gives them, before any API call. Text may go anywhere: each value is read as the
 * field's type when its row is sent.
 */
import type { ColumnType, MappedColumn, MappingProblem } from '../../destination.js';
import { DECIMAL_TYPES, TEXT_TYPES, type FieldShape, type ObjectShape } from './field-coercion.js';

type Kind = ColumnType['kind'];

/** Column kinds each field type takes; `text` and `other` (types we cannot judge) go anywhere. */
const ACCEPTS: Array<[(type: string) => boolean, Kind[]]> = [
  [(t) => TEXT_TYPES.has(t), ['integer', 'decimal', 'float', 'boolean', 'date', 'timestamp', 'timestamptz', 'time']],
  [(t) => t === 'multipicklist', ['list']],
  [(t) => t === 'boolean', ['boolean', 'integer']],
  [(t) => t === 'int' || DECIMAL_TYPES.has(t), ['integer', 'decimal', 'float']],
  [(t) => t === 'date', ['date', 'timestamp']],
  [(t) => t === 'datetime', ['date', 'timestamp', 'timestamptz']],
  [(t) => t === 'time', ['time']],
];

export function compareColumns(schema: Record<string, unknown>, columns: MappedColumn[]): MappingProblem[] {
  const problems: MappingProblem[] = [];
  for (const { field, column, type } of columns) {
    const shape = (schema as ObjectShape)[field];
    if (!shape) continue;
    const accepted = ACCEPTS.find(([matches]) => matches(shape.type))?.[1];
    const into = `${field} (${describeShape(shape)})`;
    // Field types with no rule (address, base64, …) are not judged.
    if (!accepted || type.kind === 'text' || type.kind === 'other') {
      const warning = accepted ? textWarning(shape, type) : null;
      if (warning) problems.push({ field, severity: 'warning', message: `column "${column}" (${type.sql}) into ${into}: ${warning}` });
      continue;
    }
    if (!accepted.includes(type.kind)) {
      problems.push({ field, severity: 'error', message: `column "${column}" is ${type.sql}, which cannot go into ${into}` });
      continue;
    }
    const warning = fitWarning(shape, type);
    if (warning) problems.push({ field, severity: 'warning', message: `column "${column}" (${type.sql}) into ${into}: ${warning}` });
  }
  return problems;
}

function describeShape(shape: FieldShape): string {
  if (DECIMAL_TYPES.has(shape.type) && shape.precision > 0) return `${shape.type}(${shape.precision},${shape.scale})`;
  if ((TEXT_TYPES.has(shape.type) || shape.type === 'multipicklist') && shape.length > 0) return `${shape.type}(${shape.length})`;
  return shape.type;
}

function textWarning(shape: FieldShape, type: ColumnType): string | null {
  if (type.kind !== 'text') return null;
  const bounded = TEXT_TYPES.has(shape.type) || shape.type === 'multipicklist';
  if (bounded && type.length !== undefined && shape.length > 0 && type.length > shape.length) {
    return `values longer than ${shape.length} characters fail their row (SF_STRING_TOO_LONG)`;
  }
  if (!bounded && !TEXT_TYPES.has(shape.type)) {
    return `each value is read as a ${shape.type}; one that is not fails its row (SF_VALUE_NOT_OF_TYPE)`;
  }
  return null;
}

function fitWarning(shape: FieldShape, type: ColumnType): string | null {
  if (DECIMAL_TYPES.has(shape.type) && shape.precision > 0) {
    if (type.kind === 'float') return `values with more than ${shape.scale} decimal places fail their row (SF_NUMBER_LOSES_DIGITS)`;
    if (type.kind === 'decimal' && type.scale !== undefined && type.scale > shape.scale) {
      return `values with more than ${shape.scale} decimal places fail their row (SF_NUMBER_LOSES_DIGITS)`;
    }
    const whole = shape.precision - shape.scale;
    if (type.kind === 'decimal' && type.precision !== undefined && type.precision - (type.scale ?? 0) > whole) {
      return `values with more than ${whole} digits before the point fail their row (SF_NUMBER_OUTSIDE_VALID_RANGE)`;
    }
  }
  if (shape.type === 'int' && (type.kind === 'decimal' || type.kind === 'float')) {
    return 'values with a fraction fail their row (SF_NUMBER_LOSES_DIGITS)';
  }
  if (shape.type === 'boolean' && type.kind === 'integer') return 'values other than 0 and 1 fail their row (SF_VALUE_NOT_OF_TYPE)';
  if (shape.type === 'date' && type.kind === 'timestamp') return 'values with a time of day fail their row (SF_VALUE_NOT_OF_TYPE)';
  return null;
}
