/**
 * `hightouch-like emulate salesforce`: started through the CLI, it prints its URL and credentials,
 * answers real jsforce (the demo seed's objects and records), and stops on SIGTERM with exit 0.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject | undefined;
afterEach(async () => {
  await project?.remove();
  project = undefined;
});

describe('emulate salesforce', () => {
  it('starts on loopback with the demo seed, talks to jsforce, and stops on SIGTERM', async () => {
    project = await createProject({});
    const child = project.spawn(['emulate', 'salesforce', '--port', '0', '--seed', 'demo']);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    while (!/SF_TOKEN=\S+/.test(stdout)) await once(child.stdout!, 'data');
    const url = /export SF_URL=(\S+)/.exec(stdout)![1];
    const token = /export SF_TOKEN=(\S+)/.exec(stdout)![1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const { Connection } = await import('jsforce');
    const conn = new Connection({ instanceUrl: url, accessToken: token, version: '62.0' });
    const accounts = await conn.query<{ Name: string }>("SELECT Name FROM Account WHERE External_Id__c IN ('ACME', 'GLOBEX', 'INITECH')");
    expect(accounts.records.map((r) => r.Name).sort()).toEqual(['Acme Corporation', 'Globex', 'Initech']);
    const lead = await conn.sobject('Lead__c').describe();
    expect(lead.fields.find((f) => f.name === 'Interests__c')?.type).toBe('multipicklist');
    const [saved] = (await conn
      .sobject('Lead__c')
      .upsert([{ External_Id__c: 'L-1', Name: 'Ada', Score__c: 12.5 }], 'External_Id__c', { allOrNone: false })) as Array<{
      success: boolean;
    }>;
    expect(saved.success).toBe(true);
    expect(conn.limitInfo?.apiUsage?.limit).toBe(15_000);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('refuses a host that is not loopback, as one line', async () => {
    project = await createProject({});
    const result = await project.cli(['emulate', 'salesforce', '--host', '0.0.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*--host 0\.0\.0\.0 is not a loopback address/);
  });
});
