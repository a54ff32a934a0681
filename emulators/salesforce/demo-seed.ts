/**
 * `--seed demo`: a few objects and records to develop a sync against with no org: Contact and Account
 * (the default objects) with three accounts, and Lead__c, a custom object with an External ID field and
 * typed fields (picklist, multi-picklist, number, date, datetime, checkbox).
 */
import type { SalesforceOrg } from './org/org.js';
import { defaultObjects, type ObjectSpec } from './org/schema.js';

export const demoObjects: ObjectSpec[] = [
  ...defaultObjects,
  {
    name: 'Lead__c',
    keyPrefix: 'a01',
    fields: [
      { name: 'Name', label: 'Lead Name', length: 80, nillable: false },
      { name: 'External_Id__c', label: 'External Id', length: 80, externalId: true, idLookup: true, unique: true, custom: true },
      { name: 'Email__c', label: 'Email', type: 'email', length: 80, custom: true },
      { name: 'Status__c', label: 'Status', type: 'picklist', length: 40, custom: true },
      { name: 'Interests__c', label: 'Interests', type: 'multipicklist', length: 4099, custom: true },
      { name: 'Score__c', label: 'Score', type: 'double', custom: true },
      { name: 'Signed_Up__c', label: 'Signed up', type: 'date', custom: true },
      { name: 'Last_Seen__c', label: 'Last seen', type: 'datetime', custom: true },
      { name: 'Opted_In__c', label: 'Opted in', type: 'boolean', custom: true },
    ],
  },
];

export function seedDemo(org: SalesforceOrg): void {
  org.upsert(
    'Account',
    'External_Id__c',
    [
      { External_Id__c: 'ACME', Name: 'Acme Corporation' },
      { External_Id__c: 'GLOBEX', Name: 'Globex' },
      { External_Id__c: 'INITECH', Name: 'Initech' },
    ],
    false,
  );
}
