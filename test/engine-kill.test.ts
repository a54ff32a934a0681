/**
 * "Acknowledged means synced", proven by killing: the CLI is SIGKILLed mid-run, at several points, then
 * run again to completion. The destination must end equal to the model with no row lost, and the
 * rows sent twice must be bounded by what can be in flight (not a replay of the whole run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

let project: TestProject;
let sink: HttpSink | undefined;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
  sink = undefined;
});

/** Starts a run and SIGKILLs it once `ready()` holds; resolves when the process is gone. */
async function killWhen(args: string[], env: Record<string, string>, ready: () => boolean | Promise<boolean>) {
  const child = project.spawn(args, env);
  let exited = false;
  child.on('exit', () => (exited = true));
  child.stderr!.resume();
  child.stdout!.resume();
  while (!exited && !(await ready())) await new Promise((r) => setTimeout(r, 2));
  if (!exited) child.kill('SIGKILL');
  await new Promise((r) => (exited ? r(null) : child.on('exit', r)));
  return exited;
}

describe('SIGKILL mid-run', () => {
  it('loses no row and re-sends only what was in flight (http sink)', async () => {
    const rows = 3000;
    const batch = 50;
    const concurrency = 2;
    sink = await startHttpSink({ latencyMs: 3 });
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}", concurrency: ${concurrency} }
`,
      'models/users.sql': 'select * from users',
      'syncs/users.yaml': `model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: ${batch}\n`,
    });
    await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(${rows})`);
    const env = { SINK_URL: sink.url };

    const killPoints = [5, 20, 40];
    for (const point of killPoints) {
      const start = sink.received.length;
      await killWhen(['run', 'users'], env, () => sink!.received.length - start >= point);
    }
    const final = await project.cli(['run', 'users', '--json'], env);
    expect(final.code, final.stderr).toBe(0);

    expect(sink.rows.size).toBe(rows);
    for (let i = 0; i < rows; i += 97) expect(sink.rows.get(String(i))).toEqual({ email: `u${i}@x.io` });
    const deliveries = sink.received.reduce((n, r) => n + r.rows.length, 0);
    const resent = deliveries - rows;
    // Per kill at most the batches in flight plus those acknowledged but not yet committed.
    expect(resent).toBeLessThanOrEqual(killPoints.length * (concurrency + 2) * batch);

    const runs = JSON.parse((await project.cli(['query', 'select status, count(*)::int as n from sync_runs group by 1 order by 1', '--json'], env)).stdout);
    expect(runs).toEqual([
      { status: 'failed', n: killPoints.length },
      { status: 'succeeded', n: 1 },
    ]);
  });

  it('ends equal to the model after kills while the model changes (postgres destination, mirror mode)', async () => {
    const table = `kill_${process.pid}_${Date.now()}`;
    const client = new pg.Client(PG_URL);
    await client.connect();
    try {
      await client.query(`create table ${table} (id text primary key, email text, score integer)`);
      project = await createProject({
        'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  db: { type: postgres, url: "\${PG_URL}", concurrency: 2 }
`,
        'models/users.sql': 'select * from users',
        'syncs/users.yaml': `model: users\ndestination: db\nprimary_key: id\nmode: mirror\ntable: ${table}\nmapping: { id: id, email: email, score: score }\nbatch_size: 20\n`,
      });
      await project.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email, range::int as score from range(4000)`);
      const env = { PG_URL };
      const count = async () => Number((await client.query(`select count(*) from ${table}`)).rows[0].count);

      await killWhen(['run', 'users'], env, async () => (await count()) >= 500);
      await project.warehouse(`delete from users where id % 10 = 0; update users set score = -score where id % 7 = 0; insert into users select range, 'n' || range, 1 from range(4000, 4100)`);
      await killWhen(['run', 'users'], env, async () => (await count()) >= 2000);
      const final = await project.cli(['run', 'users', '--json'], env);
      expect(final.code, final.stderr).toBe(0);

      const model = await project.warehouse('select id::varchar as id, email, score from users order by id');
      const destination = (await client.query(`select id, email, score from ${table} order by id`)).rows;
      expect(destination.length).toBe(model.length);
      expect(destination).toEqual(model.map((r) => ({ id: r.id, email: r.email, score: Number(r.score) })));
    } finally {
      await client.query(`drop table if exists ${table}`);
      await client.end();
    }
  });
});
