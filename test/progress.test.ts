/**
 * What a run shows: on a terminal (a real pseudo-terminal from util-linux `script`) a progress bar and
 * the summary; elsewhere one JSON log line per event.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createProject, logEvents, repoRoot, type TestProject } from './support/project.js';

const run = promisify(execFile);
let project: TestProject;
afterEach(async () => project?.remove());

async function make() {
  project = await createProject({
    'hightouch-like.config.yaml': 'warehouse: { type: duckdb, path: warehouse.duckdb }\ndestinations:\n  out: { type: file }\n',
    'models/users.sql': 'select * from users',
    'syncs/users.yaml': 'model: users\ndestination: out\nprimary_key: id\nmapping: { email: email }\nbatch_size: 10\n',
  });
  await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(50)`);
}

describe('run output', () => {
  it('draws a progress bar on a terminal and ends with a summary', async () => {
    await make();
    const command = `${process.execPath} ${join(repoRoot, 'bin/hightouch-like.js')} --project ${project.dir} run users`;
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: { ...process.env, COLUMNS: '120' } });
    expect(stdout).toMatch(/users \[[█░]+\] 50\/50 rows \| failed 0/);
    expect(stdout).toMatch(/users: succeeded — planned 50, sent 50, succeeded 50, failed 0, invalid 0, API calls 5, [\d.]+s/);
    expect(stdout).not.toMatch(/"msg":"run_started"/);
  });

  it('writes one structured log line per event when not on a terminal', async () => {
    await make();
    const result = await project.cli(['run', 'users']);
    const events = logEvents(result.stderr).map((e) => e.msg);
    expect(events[0]).toBe('run_started');
    expect(events.at(-1)).toBe('run_finished');
    expect(events.filter((e) => e === 'progress').length).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/^users: succeeded — planned 50/);
  });
});
