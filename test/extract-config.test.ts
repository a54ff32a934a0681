/**
 * Extract files and `sources:` refused with one line naming the file, the line and the field: an
 * unknown source, a filter that would close the WHERE clause, a token written in the file, a table
 * landed twice, a bad overlap; and a filter Salesforce itself refuses fails the run naming its line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../core/config/load-project.js';
import { runExtract } from '../core/extract/run-extract.js';
import { UserError } from '../shared/errors.js';
import { createProject, type TestProject } from './support/project.js';
import { startSalesforceFixture, type SalesforceFixture } from './support/salesforce/fixture.js';

const SOURCE = 'sources:\n  crm: { type: salesforce, instance_url: "${SF_URL}", access_token: "${SF_TOKEN}" }\n';
const ENV = { SF_URL: 'http://127.0.0.1:9', SF_TOKEN: 'sf-config-token-1234' };

let project: TestProject | undefined;
let sf: SalesforceFixture | undefined;
afterEach(async () => {
  await project?.remove();
  await sf?.close();
  project = sf = undefined;
});

async function refusal(files: Record<string, string>): Promise<string> {
  project = await createProject({ 'hightouch-like.config.yaml': SOURCE, ...files });
  try {
    await loadProject(project.dir, { ...process.env, ...ENV });
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).format();
  }
  throw new Error('the project loaded');
}

describe('extract configuration', () => {
  it('names the file, line and field of each mistake', async () => {
    expect(await refusal({ 'extracts/a.yaml': 'object: Contact\ntable: a\nsource: erp\n' })).toMatch(
      /^extracts\/a\.yaml:3: source: source "erp" is not defined\. define it under sources: in hightouch-like\.config\.yaml, or use one of: crm\.$/,
    );
    await project!.remove();
    expect(
      await refusal({ 'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: a\nfilter: "Email != null) OR (Name = \'x\'"\n' }),
    ).toMatch(/^extracts\/a\.yaml:4: filter: the filter closes a parenthesis it never opened\./);
    await project!.remove();
    expect(await refusal({ 'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: a\nfilter: "Email != null LIMIT 5"\n' })).toMatch(
      /^extracts\/a\.yaml:4: filter: the filter holds LIMIT/,
    );
    await project!.remove();
    expect(await refusal({ 'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: A-b\n' })).toMatch(/^extracts\/a\.yaml:3: table/);
    await project!.remove();
    expect(
      await refusal({
        'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: t\n',
        'extracts/b.yaml': 'source: crm\nobject: Account\ntable: t\n',
      }),
    ).toMatch(/^extracts\/b\.yaml:3: table: table t is already landed by extract a\./);
    await project!.remove();
    expect(await refusal({ 'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: a\noverlap: 5 minutes\n' })).toMatch(
      /^extracts\/a\.yaml:4: overlap/,
    );
  });

  it('refuses a token written in the project file, without showing it', async () => {
    project = await createProject({
      'hightouch-like.config.yaml':
        'sources:\n  crm:\n    type: salesforce\n    instance_url: "${SF_URL}"\n    access_token: 00Dxx-literal-token\n',
    });
    const error = await loadProject(project.dir, { ...process.env, ...ENV }).catch((e: UserError) => e.format());
    expect(error).toMatch(
      /^hightouch-like\.config\.yaml:5: sources\.crm\.access_token: access_token is written in the file; it must come from the environment\./,
    );
    expect(error).not.toContain('00Dxx-literal-token');
  });

  it('fails the run on a filter Salesforce refuses, naming the extract file line, and lands nothing', async () => {
    sf = await startSalesforceFixture({ accessToken: ENV.SF_TOKEN });
    sf.org.seed('Contact', [{ LastName: 'A' }]);
    project = await createProject({
      'hightouch-like.config.yaml': SOURCE,
      'extracts/a.yaml': 'source: crm\nobject: Contact\ntable: a\nfilter: "NoSuchField__c = 1"\n',
    });
    const p = await loadProject(project.dir, { ...process.env, ...sf.env(), SF_TOKEN: ENV.SF_TOKEN });
    const report = await runExtract({ project: p, now: () => new Date() }, 'a');
    expect(report).toMatchObject({ status: 'failed', error_code: 'SF_FILTER_REFUSED', rows_read: 0, cursor_to: null });
    expect(report.error).toMatch(/^extracts\/a\.yaml:4: filter: .*NoSuchField__c/);
  });
});
