/**
 * Column types of a landed table from a Salesforce describe. Numbers land exact: currency, percent and
 * double fields as decimal(precision, scale) (Salesforce holds at most 18 digits), int as bigint.
 * Compound fields (address, location) are read through their parts, and base64 bodies are not readable
 * in a query that returns many records, so both are left out.
 */
import type { LandedType, SourceField } from '../../source.js';

export interface DescribedField {
  name: string;
  type: string;
  precision?: number;
  scale?: number;
}

const SKIPPED = new Set(['address', 'location', 'base64', 'complexvalue', 'anyType']);

export function landedType(field: DescribedField): LandedType | null {
  switch (field.type) {
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'bigint';
    case 'long':
      return 'bigint';
    case 'double':
    case 'currency':
    case 'percent': {
      const precision = Math.min(Math.max(field.precision ?? 18, 1), 38);
      const scale = Math.min(Math.max(field.scale ?? 0, 0), precision);
      return precision > 0 ? `decimal(${precision},${scale})` : 'double precision';
    }
    case 'date':
      return 'date';
    case 'datetime':
      return 'timestamptz';
    default:
      return SKIPPED.has(field.type) ? null : 'text';
  }
}

export function sourceFields(fields: DescribedField[]): SourceField[] {
  return fields.flatMap((f) => {
    const type = landedType(f);
    return type === null ? [] : [{ name: f.name, type }];
  });
}
