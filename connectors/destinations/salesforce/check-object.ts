/**
 * Verifies, before a run writes any state, that the sync's object can take its writes: one describe
 * (GET /sobjects/{object}/describe) shows that the object and every mapped field exist for the
 * integration user, that the fields are createable/updateable as the mode needs, and that
 * external_id is a field Salesforce can match on (External ID or idLookup). The mapped fields' types
 * and lengths come back for the run (`sync.schema`) and for the comparison with the model's columns.
 */
import type { Connection } from 'jsforce';
import { DestinationError } from '../../destination.js';
import { metered, type CallMeter } from '../../salesforce/connection.js';
import { classifyRequestError, sfCatalogue } from '../../salesforce/errors.js';
import type { SalesforceTarget } from './settings.js';
import { shapeOf, type ObjectShape } from './field-coercion.js';

interface DescribedField {
  name: string;
  type: string;
  length?: number;
  precision?: number;
  scale?: number;
  createable: boolean;
  updateable: boolean;
  externalId: boolean;
  idLookup: boolean;
}

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/** Returns the shapes of the mapped fields, which the run's values are coerced to. */
export async function checkObject(conn: Connection, target: SalesforceTarget): Promise<ObjectShape> {
  const { object, externalId, mode } = target;
  const meter: CallMeter = { calls: 0 };
  let fields: DescribedField[];
  let deletable: boolean;
  try {
    const described = await metered(meter, () => conn.sobject(object).describe());
    fields = described.fields as DescribedField[];
    deletable = described.deletable;
  } catch (error) {
    const failure = classifyRequestError(error, meter.lastStatus, `describe ${object}`, target.secrets);
    if (failure.code === 'SF_NOT_FOUND') {
      throw sfCatalogue.error('SF_UNKNOWN_OBJECT', `Salesforce has no object "${object}" that the integration user can see`);
    }
    throw new DestinationError(failure, meter.calls);
  }

  const byName = new Map(fields.map((f) => [f.name, f]));
  const missing = target.fields.filter((f) => !byName.has(f));
  if (missing.length > 0) {
    throw sfCatalogue.error('SF_UNKNOWN_FIELD', `${object} has no field ${quoted(missing)} (or it is hidden from the integration user)`);
  }
  const creating = mode !== 'update';
  const updating = mode !== 'insert';
  // An upsert matches on external_id and never changes it; update mode writes it by Id like any field.
  const matchKey = mode === 'update' ? null : externalId;
  const readOnly = target.fields.filter((name) => {
    const field = byName.get(name)!;
    return (creating && !field.createable) || (updating && name !== matchKey && !field.updateable);
  });
  if (readOnly.length > 0) {
    const needs = creating && updating ? 'created and updated' : creating ? 'created' : 'updated';
    throw sfCatalogue.error('SF_FIELD_NOT_WRITABLE', `${object} field ${quoted(readOnly)} cannot be ${needs} by the integration user`);
  }
  if (externalId) {
    const key = byName.get(externalId)!;
    if (!key.externalId && !key.idLookup) {
      throw sfCatalogue.error(
        'SF_NOT_EXTERNAL_ID',
        `external_id "${externalId}" is not an External ID field of ${object}, so records cannot be matched on it`,
      );
    }
  }
  if (mode === 'mirror' && !deletable)
    throw sfCatalogue.error('SF_NOT_DELETABLE', `${object} records cannot be deleted by the integration user`);
  return shapeOf(fields, target.fields);
}
