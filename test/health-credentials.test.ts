/**
 * `credentials_required` end to end, through the real CLI and jsforce against the Salesforce emulator:
 * a refresh token revoked mid-run stops the run with an `auth` failure, rows are aborted (none counted
 * rejected), one alert goes out however many runs keep failing, and a run with a new refresh token
 * recovers the sync with one recovery notice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const TOKEN = 'sf-access-2b4d6f8a0c1e3579';
const REFRESH = 'sf-refresh-13579bdf2468ace0';
const NEW_REFRESH = 'sf-refresh-new-0f1e2d3c4b5a6978';
const SECRET = 'sf-client-secret-55667788';
const HOOK_SECRET = 'whsec-0e1d2c3b4a5f6e7d';

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
let hook: AlertReceiver | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  await hook?.close();
});

describe('credentials_required', () => {
  it('comes from a revoked refresh token: one alert, no row rejected, and recovery with new credentials', async () => {
    sf = await startSalesforceFixture({ accessToken: TOKEN, refreshToken: REFRESH, clientId: 'htl-test', clientSecret: SECRET });
    hook = await startAlertReceiver(HOOK_SECRET);
    project = await createProject({
      'hightouch-like.config.yaml': `warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  crm:
    type: salesforce
    instance_url: \${SF_URL}
    access_token: \${SF_TOKEN}
    refresh_token: \${SF_REFRESH}
    client_id: htl-test
    client_secret: \${SF_SECRET}
    login_url: \${SF_URL}
    api_version: 62.0
alerts:
  channels:
    ops: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
`,
      'models/contacts.sql': 'select * from contacts',
      'syncs/contacts.yaml': `model: contacts
destination: crm
primary_key: id
object: Contact
external_id: External_Id__c
mapping: { External_Id__c: ext, LastName: last_name }
`,
    });
    await project.warehouse(
      `create table contacts as select range as id, 'C-' || range as ext, 'Last' || range as last_name from range(1, 4)`,
    );
    const env = () => ({ ...sf!.env(), HOOK_SECRET });
    const run = async (extra: Record<string, string> = {}) => {
      const result = await project!.cli(['run', 'contacts', '--json'], { ...env(), ...extra });
      return { ...result, report: JSON.parse(result.stdout)[0] };
    };
    const query = async (sqlText: string) => JSON.parse((await project!.cli(['query', sqlText, '--json'], env())).stdout);

    expect((await run()).report.status).toBe('succeeded');

    // The admin revokes the app's access between the check and the first write of the next run.
    await project.warehouse(`update contacts set last_name = 'New' || id`);
    sf.beforeNextWrite(() => {
      sf!.expireToken();
      sf!.revokeRefreshToken();
    });
    const revoked = await run();
    expect(revoked.code).toBe(1);
    expect(revoked.report).toMatchObject({ status: 'failed', error_class: 'auth', error_code: 'SF_REFRESH_FAILED', failed: 0, aborted: 3 });
    expect(await query('select count(*)::int as n from failed_rows')).toEqual([{ n: 0 }]);
    expect(await query(`select rows_failed from sync_runs where status = 'failed'`)).toEqual([{ rows_failed: 0 }]);
    const [status] = JSON.parse((await project.cli(['status', '--json'], env())).stdout);
    expect(status).toMatchObject({
      health: 'credentials_required',
      consecutive_failed_runs: 1,
      open_alert: 'credentials_required',
      failed_rows: 0,
    });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0].verified).toBe(true);
    expect(hook.received[0].body).toMatchObject({
      kind: 'alert',
      trigger: 'credentials_required',
      state: 'credentials_required',
      previous_state: 'healthy',
      errors: [{ code: 'SF_REFRESH_FAILED', count: 1, remediation: expect.stringMatching(/\w/) }],
    });
    for (const secret of [TOKEN, REFRESH, SECRET, HOOK_SECRET]) expect(hook.received[0].raw).not.toContain(secret);

    // Still revoked: the check fails now, the state stays, and no second alert goes out.
    const again = await run();
    expect(again.report).toMatchObject({ status: 'failed', error_class: 'auth' });
    expect(hook.received).toHaveLength(1);

    // New credentials: the sync runs, recovers, and says so once.
    sf.issueRefreshToken(NEW_REFRESH);
    const fixed = await run({ SF_REFRESH: NEW_REFRESH });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.report).toMatchObject({ status: 'succeeded', succeeded: 3 });
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1].body).toMatchObject({
      kind: 'recovery',
      trigger: 'credentials_required',
      state: 'healthy',
      previous_state: 'credentials_required',
    });
    expect(await query('select from_state, to_state from events order by "at"')).toEqual([
      { from_state: null, to_state: 'healthy' },
      { from_state: 'healthy', to_state: 'credentials_required' },
      { from_state: 'credentials_required', to_state: 'healthy' },
    ]);
  }, 120_000);
});
