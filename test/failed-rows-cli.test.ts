/**
 * The failed-row commands through the real CLI against a real HTTP receiver on loopback: `retry` by
 * error code, key and status (and `--dry-run`), the `sync-issues` log and `rows --status` on a project
 * with each kind of failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject;
let sink: HttpSink;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
});

const codes: Record<string, string> = { '2': 'VALUE_TOO_LONG', '3': 'VALUE_TOO_LONG', '4': 'LOCKED' };

async function setup(policy = '') {
  sink = await startHttpSink({ codeFor: (key) => codes[key] });
  project = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}", concurrency: 1 }
`,
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': `model: users
destination: api
primary_key: id
mapping: { email: email }
retry: { attempts: 2, base_delay_ms: 1, max_delay_ms: 2 }
${policy}
`,
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(1, 7)`);
}

const env = () => ({ SINK_URL: sink.url });
const cli = async (...args: string[]) => {
  const result = await project.cli(args, env());
  return { ...result, json: result.stdout.startsWith('{') || result.stdout.startsWith('[') ? JSON.parse(result.stdout) : null };
};
const query = async (text: string) => (await cli('query', text, '--json')).json as Array<Record<string, unknown>>;
const sentSince = (before: number) =>
  sink.received
    .slice(before)
    .flatMap((r) => r.rows.map((row) => row.key))
    .sort();

describe('retry', { timeout: 240_000 }, () => {
  it('--error-code and --key release blocked rows and send them now; --dry-run only lists', async () => {
    await setup();
    sink.rejectKeys(['2', '3']);
    expect((await cli('run', 'users', '--json')).code).toBe(2);
    expect(await query(`select primary_key, status from failed_rows order by 1`)).toEqual([
      { primary_key: '2', status: 'blocked' },
      { primary_key: '3', status: 'blocked' },
    ]);
    // The receiver is fixed (not the model): a plain run sends nothing, the rows are blocked.
    sink.rejectKeys([]);
    let before = sink.received.length;
    expect((await cli('run', 'users')).code).toBe(0);
    expect(sink.received.length).toBe(before);

    const dry = await cli('retry', 'users', '--error-code', 'VALUE_TOO_LONG', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(dry.json.rows.map((r: { primary_key: string }) => r.primary_key)).toEqual(['2', '3']);
    expect(sink.received.length).toBe(before);
    expect(await query(`select count(*)::int as n from failed_rows where status = 'blocked'`)).toEqual([{ n: 2 }]);

    before = sink.received.length;
    const byKey = await cli('retry', 'users', '--key', '3', '--json');
    expect(byKey.code, byKey.stderr).toBe(0);
    expect(sentSince(before)).toEqual(['3']);
    expect(await query(`select primary_key from failed_rows`)).toEqual([{ primary_key: '2' }]);

    before = sink.received.length;
    const byCode = await cli('retry', 'users', '--error-code', 'VALUE_TOO_LONG');
    expect(byCode.code, byCode.stderr).toBe(0);
    expect(byCode.stdout).toContain('users: succeeded');
    expect(sentSince(before)).toEqual(['2']);
    expect(await query(`select count(*)::int as n from failed_rows`)).toEqual([{ n: 0 }]);
    expect(sink.rows.size).toBe(6);
  });

  it('--status timeout_queue sends the timed-out rows before their slot', async () => {
    // One try, then the queue, retried on 1 January only: no later run sends the row by itself.
    await setup('failed_rows: { max_tries: 1, timeout_queue: "0 0 1 1 *" }');
    sink.rejectKeys(['5']);
    await cli('run', 'users');
    expect(await query(`select status, tries, error_code from failed_rows`)).toEqual([
      { status: 'timeout_queue', tries: 1, error_code: 'HTTP_ROW_REJECTED' },
    ]);
    sink.rejectKeys([]);
    let before = sink.received.length;
    await cli('run', 'users');
    expect(sink.received.length).toBe(before);

    // Nothing matches: nothing runs.
    const none = await cli('retry', 'users', '--status', 'blocked');
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no failed row matches');

    before = sink.received.length;
    const retried = await cli('retry', 'users', '--status', 'timeout_queue', '--json');
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json.reports[0]).toMatchObject({ status: 'succeeded', succeeded: 1 });
    expect(sentSince(before)).toEqual(['5']);
  });

  it('refuses a status that is not one, in one line', async () => {
    await setup();
    const bad = await cli('retry', 'users', '--status', 'stuck');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: retry --status: "stuck" is not a failed-row status\. use one of retrying, blocked, timeout_queue\.\n$/,
    );
  });
});

describe('sync-issues and rows', { timeout: 240_000 }, () => {
  it('show each kind of failure per code, and the rows not synced', async () => {
    await setup('failed_rows: { max_tries: 2 }');
    // Run 1: 1 refused (generic), 2 and 3 blocked (VALUE_TOO_LONG).
    sink.rejectKeys(['1', '2', '3']);
    await cli('run', 'users');
    // Run 2: 1 refused again (second try: timeout queue); 4 changed and locked (transient: retrying).
    await project.warehouse(`update users set email = 'x4@x.io' where id = 4`);
    sink.rejectKeys(['1', '2', '3', '4']);
    await cli('run', 'users');
    // After the runs: a null key (invalid) and a new row (pending).
    await project.warehouse(`insert into users values (null, 'nokey@x.io'), (7, 'u7@x.io')`);

    const issues = await cli('sync-issues', '--json');
    expect(issues.code, issues.stderr).toBe(0);
    const byCode = Object.fromEntries(issues.json.map((i: { error_code: string }) => [i.error_code, i]));
    expect(Object.keys(byCode).sort()).toEqual(['HTTP_ROW_REJECTED', 'LOCKED', 'VALUE_TOO_LONG']);
    expect(byCode.VALUE_TOO_LONG).toMatchObject({
      sync: 'users',
      error_class: 'rejected',
      rows: 2,
      blocked: 2,
      sample_keys: ['2', '3'],
      remediation: expect.stringContaining('shorten it in the model'),
      run_count: 1,
    });
    expect(byCode.HTTP_ROW_REJECTED).toMatchObject({ rows: 1, timeout_queue: 1, sample_keys: ['1'], run_count: 2 });
    expect(byCode.LOCKED).toMatchObject({ error_class: 'transient', rows: 1, retrying: 1, sample_keys: ['4'], run_count: 1 });
    expect(Date.parse(byCode.HTTP_ROW_REJECTED.first_seen)).toBeLessThan(Date.parse(byCode.HTTP_ROW_REJECTED.last_seen));
    const text = await cli('sync-issues', 'users');
    expect(text.stdout).toContain('VALUE_TOO_LONG');

    const rows = async (status: string) => {
      const out = await cli('rows', 'users', '--status', status, '--json');
      expect(out.code, out.stderr).toBe(0);
      return out.json.map((r: { primary_key: string | null; status: string }) => [r.primary_key, r.status]);
    };
    expect(await rows('not_synced')).toEqual([
      [null, 'invalid'],
      ['1', 'timeout_queue'],
      ['2', 'blocked'],
      ['3', 'blocked'],
      ['4', 'retrying'],
      ['7', 'pending'],
    ]);
    expect(await rows('synced')).toEqual([
      ['5', 'synced'],
      ['6', 'synced'],
    ]);
    expect(await rows('blocked')).toEqual([
      ['2', 'blocked'],
      ['3', 'blocked'],
    ]);
    const textRows = await cli('rows', 'users', '--status', 'invalid');
    expect(textRows.stdout).toContain('null primary key');
    const bad = await cli('rows', 'users', '--status', 'lost');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: rows --status: "lost" is not a row status/);
  });
});
