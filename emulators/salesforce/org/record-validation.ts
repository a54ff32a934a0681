/**
 * The per-record checks of a create, update or upsert, in the order Salesforce reports them: injected
 * rules, field-level writability, value types and lengths, required fields, unique values. The first
 * failing check is the record's only error.
 */
import { fireRule, ruleMessage, type RecordRule } from './record-rules.js';
import { saveError, type SaveError } from './save-result.js';
import { blank, type SObjectStore, type SfRecord } from './sobject-store.js';

/** An `int` field holds a signed 32-bit value. */
const INT_RANGE = 2 ** 31;

/** `existingId` is null when the record is being created; `keyField` is the upsert key, never refused as not writable. */
export function validateRecord(
  store: SObjectStore,
  rules: RecordRule[],
  values: SfRecord,
  existingId: string | null,
  keyField?: string,
): SaveError[] {
  const creating = existingId === null;
  const rule = fireRule(rules, store.spec.name, values);
  if (rule) return [saveError(rule.statusCode, ruleMessage(rule), rule.fields ?? [])];

  const notWritable: string[] = [];
  for (const name of Object.keys(values)) {
    if (name === 'Id' || name === keyField) continue;
    const field = store.fields.get(name)!;
    const allowed = field.state !== 'readOnly' && (creating ? field.createable !== false : field.updateable !== false);
    if (!allowed) notWritable.push(name);
  }
  if (notWritable.length > 0) {
    const list = notWritable.join(', ');
    return [
      saveError(
        'INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to create/update fields: ${list}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        notWritable,
      ),
    ];
  }

  for (const [name, value] of Object.entries(values)) {
    if (blank(value) || name === 'Id') continue;
    const field = store.fields.get(name)!;
    const label = field.label ?? name;
    const type = field.type ?? 'string';
    if (type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(value))) {
      return [saveError('INVALID_EMAIL_ADDRESS', `${label}: invalid email address: ${String(value)}`, [name])];
    }
    if (type === 'int' && (typeof value !== 'number' || Math.abs(value) >= INT_RANGE)) {
      return [saveError('NUMBER_OUTSIDE_VALID_RANGE', `${label}: value outside of valid range on numeric field: ${String(value)}`, [name])];
    }
    const max = field.length ?? 255;
    if (typeof value === 'string' && type !== 'int' && value.length > max) {
      return [saveError('STRING_TOO_LONG', `${label}: data value too large: ${value.slice(0, 40)} (max length=${max})`, [name])];
    }
  }

  const missing: string[] = [];
  for (const field of store.fields.values()) {
    if (field.type === 'id' || field.nillable !== false || field.defaultedOnCreate || field.createable === false) continue;
    if (!store.visible(field.name)) continue;
    const given = field.name in values;
    if (creating ? blank(values[field.name]) : given && blank(values[field.name])) missing.push(field.name);
  }
  if (missing.length > 0) {
    return [saveError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing)];
  }

  for (const [name, index] of store.indexes) {
    const field = store.fields.get(name)!;
    if (!field.unique || blank(values[name])) continue;
    const holder = index.get(String(values[name]));
    if (holder !== undefined && holder !== existingId) {
      return [saveError('DUPLICATE_VALUE', `duplicate value found: ${name} duplicates value on record with id: ${holder}`)];
    }
  }
  return [];
}
