/**
 * A parsed query bound to an sObject: every name resolved to a visible field (any letter case, as SOQL
 * allows), every literal checked against its field's type, and the WHERE clause turned into a
 * predicate over stored records. Unknown or unreadable fields are INVALID_FIELD, an unknown object
 * INVALID_TYPE, both pointing at the name, as Salesforce does.
 */
import { parseDateTime } from '../org/org-clock.js';
import type { FieldSpec } from '../org/schema.js';
import type { SObjectStore, SfRecord } from '../org/sobject-store.js';
import type { Condition, Literal, Name, SelectQuery } from './parser.js';
import { SoqlError } from './soql-error.js';

export type Predicate = (record: SfRecord) => boolean;

export interface BoundOrder {
  field: FieldSpec;
  descending: boolean;
  nullsLast: boolean;
}

export interface BoundQuery {
  store: SObjectStore;
  /** Selected fields in query order; empty for `SELECT COUNT()`. */
  fields: FieldSpec[];
  count: boolean;
  where: Predicate;
  /** Ids the WHERE clause restricts the result to, when it is `Id` or an indexed field `=`/`IN` at its top. */
  candidates?: () => Iterable<string>;
  orderBy: BoundOrder[];
  limit?: number;
  offset?: number;
}

type Kind = 'datetime' | 'date' | 'boolean' | 'number' | 'string';

/** How a field's values compare; every other type (id, email, picklist, reference, …) is text. */
export function kindOf(field: FieldSpec): Kind {
  switch (field.type) {
    case 'datetime':
      return 'datetime';
    case 'date':
      return 'date';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return 'number';
    default:
      return 'string';
  }
}

/** The value a record holds for `field`, as it compares: epoch ms for date-times, lower case for text, null for blank. */
export function comparable(field: FieldSpec, record: SfRecord): string | number | boolean | null {
  const raw = record[field.name];
  const kind = kindOf(field);
  if (kind === 'boolean') return raw === true;
  if (raw === null || raw === undefined || raw === '') return null;
  if (kind === 'datetime') return parseDateTime(String(raw));
  if (kind === 'number') return Number(raw);
  // Ids compare on their 15 case-sensitive characters (an 18-character Id only adds a checksum).
  if (field.type === 'id' || field.type === 'reference') return String(raw).slice(0, 15);
  return kind === 'date' ? String(raw) : String(raw).toLowerCase();
}

export function bindQuery(query: SelectQuery, lookup: (name: string) => SObjectStore | undefined): BoundQuery {
  const store = lookup(query.object.text);
  if (!store) {
    throw new SoqlError(
      'INVALID_TYPE',
      query.soql,
      query.object.at,
      `sObject type '${query.object.text}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  const field = (name: Name) => resolve(query, store, name);
  const fields = query.fields === 'count' ? [] : query.fields.map(field);
  const seen = new Set<string>();
  for (const [i, f] of fields.entries()) {
    if (seen.has(f.name)) throw new SoqlError('MALFORMED_QUERY', query.soql, (query.fields as Name[])[i].at, `duplicate field selected: ${f.name}`);
    seen.add(f.name);
  }
  return {
    store,
    fields,
    count: query.fields === 'count',
    where: query.where ? predicate(query, store, query.where) : () => true,
    candidates: query.where ? candidatesOf(query, store, query.where) : undefined,
    orderBy: query.orderBy.map((o) => ({ field: field(o.field), descending: o.descending, nullsLast: o.nullsLast })),
    limit: query.limit,
    offset: query.offset,
  };
}

function resolve(query: SelectQuery, store: SObjectStore, name: Name): FieldSpec {
  const field = store.visibleIgnoringCase(name.text);
  if (!field) {
    throw new SoqlError(
      'INVALID_FIELD',
      query.soql,
      name.at,
      `No such column '${name.text}' on entity '${store.spec.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  }
  return field;
}

/** The literal a field of each kind compares with, and the type name Salesforce's refusal gives. */
const LITERAL_FOR: Record<Kind, [Literal['kind'], string]> = {
  datetime: ['datetime', 'dateTime'],
  date: ['date', 'date'],
  boolean: ['boolean', 'boolean'],
  number: ['number', 'double'],
  string: ['string', 'string'],
};

/** The literal as it compares with `field`'s values, or INVALID_FIELD when its type cannot be compared. */
function literalValue(query: SelectQuery, field: FieldSpec, literal: Literal): string | number | boolean | null {
  if (literal.kind === 'null') return null;
  const kind = kindOf(field);
  const wrong = (type: string, quoted: boolean) =>
    new SoqlError(
      'INVALID_FIELD',
      query.soql,
      literal.at,
      `value of filter criterion for field '${field.name}' must be of type ${type} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
    );
  const [expected, typeName] = LITERAL_FOR[kind];
  if (literal.kind !== expected) throw wrong(typeName, kind === 'string');
  const value = (literal as { value: string | number | boolean }).value;
  if (kind !== 'string') return value;
  if (field.type !== 'id' && field.type !== 'reference') return String(value).toLowerCase();
  // An Id literal must look like one (15 or 18 letters and digits); '' is no Id at all.
  if (!/^([0-9A-Za-z]{15}|[0-9A-Za-z]{18})$/.test(String(value))) {
    throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', query.soql, literal.at, `invalid ID field: ${String(value)}`);
  }
  return String(value).slice(0, 15);
}

function predicate(query: SelectQuery, store: SObjectStore, condition: Condition): Predicate {
  switch (condition.kind) {
    case 'and': {
      const parts = condition.items.map((c) => predicate(query, store, c));
      return (r) => parts.every((p) => p(r));
    }
    case 'or': {
      const parts = condition.items.map((c) => predicate(query, store, c));
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = predicate(query, store, condition.item);
      return (r) => !inner(r);
    }
    case 'compare': {
      const field = resolve(query, store, condition.field);
      const value = literalValue(query, field, condition.value);
      const op = condition.op;
      return (r) => {
        const held = comparable(field, r);
        // As in SOQL, `=` and `!=` treat null as a value; an ordering against null matches nothing.
        if (op === '=') return held === value;
        if (op === '!=') return held !== value;
        if (held === null || value === null) return false;
        return op === '<' ? held < value : op === '<=' ? held <= value : op === '>' ? held > value : held >= value;
      };
    }
    case 'in': {
      const field = resolve(query, store, condition.field);
      const values = new Set(condition.values.map((v) => literalValue(query, field, v)));
      return condition.negated ? (r) => !values.has(comparable(field, r)) : (r) => values.has(comparable(field, r));
    }
    case 'like': {
      const field = resolve(query, store, condition.field);
      if (kindOf(field) !== 'string') {
        throw new SoqlError('INVALID_FIELD', query.soql, condition.field.at, `invalid operator on ${field.type} field: ${field.name}`);
      }
      const pattern = likePattern(condition.pattern);
      return (r) => {
        const held = comparable(field, r);
        return held !== null && pattern.test(String(held));
      };
    }
  }
}

/** `%` any run, `_` one character, `\%` `\_` themselves; case-insensitive like every text match. */
function likePattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && (pattern[i + 1] === '%' || pattern[i + 1] === '_')) source += pattern[++i];
    else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

/**
 * The write side's lookups (`WHERE Email IN (…)` over 100,000 records) should not scan: a top-level
 * `=`/`IN` on Id or an indexed field, alone or in an AND, names the candidate Ids directly.
 */
function candidatesOf(query: SelectQuery, store: SObjectStore, condition: Condition): (() => Iterable<string>) | undefined {
  if (condition.kind === 'and') {
    for (const item of condition.items) {
      const found = candidatesOf(query, store, item);
      if (found) return found;
    }
    return undefined;
  }
  if (condition.kind !== 'in' && condition.kind !== 'compare') return undefined;
  const literals = condition.kind === 'in' ? (condition.negated ? undefined : condition.values) : condition.op === '=' ? [condition.value] : undefined;
  if (!literals) return undefined;
  const field = resolve(query, store, condition.field);
  if (literals.some((l) => l.kind !== 'string')) return undefined;
  const texts = literals.map((l) => (l as { value: string }).value);
  if (field.name === 'Id') return () => texts.flatMap((t) => store.idsMatching(t));
  const index = store.indexes.get(field.name);
  if (!index) return undefined;
  return () => texts.flatMap((t) => index.get(t) ?? []);
}
