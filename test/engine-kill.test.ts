/**
 * "Acknowledged means synced", proven by killing: the CLI is SIGKILLed mid-run, at several points, then
 * run again to completion. The destination must end equal to the model with no row lost, and the
 * rows sent twice must be bounded by what can be in flight (not a replay of the whole run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';
import { maxUnsettledBatches } from '../core/execute/send-window.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** First key of the advisory lock that gates the postgres test's writes (the second is the test's pid). */
const LOCK_CLASS = 7405;

let project: TestProject;
let sink: HttpSink | undefined;
afterEach(async () => {
  await project?.remove();
  await sink?.close();
  sink = undefined;
});

/**
 * Starts a run and SIGKILLs it once `ready` resolves; resolves when the process is gone. The caller
 * makes sure the run cannot finish first (it holds the destination's answers), so the kill always
 * lands mid-run; a run that exits by itself fails the test instead of silently testing nothing.
 */
async function killWhen(args: string[], env: Record<string, string>, ready: (alive: () => boolean) => Promise<void>) {
  const child = project.spawn(args, env);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const early = await Promise.race([ready(() => !exited).then(() => false), exit.then(() => true)]);
  if (early) throw new Error(`the run ended before the kill point (exit ${await exit}): ${stderr}`);
  child.kill('SIGKILL');
  await exit;
}

// A hang guard, not a timing: at load 18 on 2 cores one CLI run took up to 15 s, and each test makes 4-5.
describe('SIGKILL mid-run', { timeout: 300_000 }, () => {
  it('loses no row and re-sends only what was in flight (http sink)', async () => {
    // 60 batches of 500: more rows than three kills may re-send (3 × 4,000, send-window.ts), so the bound can fail.
    const rows = 30_000;
    const batch = 500;
    const concurrency = 2;
    sink = await startHttpSink();
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

    // In batches acknowledged by each killed run. The sink then holds its answers, so the kill finds
    // exactly `concurrency` batches on the wire and the run cannot have finished. The points must fit
    // the runs: 60 batches, less 5 + 20 acknowledged, leave at least 35 for the third run, so 30 + 2 fit
    // (a third point of 40 could not be reached: that run finished before its kill).
    const killPoints = [5, 20, 30];
    for (const point of killPoints) {
      const http = sink;
      http.holdAfter(http.answeredRows + point * batch);
      await killWhen(['run', 'users'], env, () => http.until(() => http.held === concurrency));
      // The killed client is gone: its held answers are dropped, and the next run is answered at once.
      http.release();
    }
    const final = await project.cli(['run', 'users', '--json'], env);
    expect(final.code, final.stderr).toBe(0);

    expect(sink.rows.size).toBe(rows);
    for (let i = 0; i < rows; i += 97) expect(sink.rows.get(String(i))).toEqual({ email: `u${i}@x.io` });
    const deliveries = sink.received.reduce((n, r) => n + r.rows.length, 0);
    const resent = deliveries - rows;
    // Per kill at most the batches in flight plus those acknowledged but not yet committed.
    const bound = killPoints.length * maxUnsettledBatches(concurrency, batch) * batch;
    expect(bound).toBeLessThan(rows);
    expect(resent).toBeLessThanOrEqual(bound);

    const runs = JSON.parse(
      (await project.cli(['query', 'select status, count(*)::int as n from sync_runs group by 1 order by 1', '--json'], env)).stdout,
    );
    expect(runs).toEqual([
      { status: 'failed', n: killPoints.length },
      { status: 'succeeded', n: 1 },
    ]);
  });

  it('ends equal to the model after kills while the model changes (postgres destination, mirror mode)', async () => {
    const schema = `kill_${process.pid}_${Date.now().toString(36)}`;
    const concurrency = 2;
    const batch = 20;
    const client = new pg.Client(PG_URL);
    await client.connect();
    // The gate: write statements past `gate.open_writes` wait for an advisory lock this session holds, so
    // a run cannot finish before the kill and the kill finds exactly `concurrency` writes on the wire.
    const lock = `${LOCK_CLASS}, ${process.pid}`;
    const waiting = async () =>
      (
        await client.query(
          `select pid from pg_locks where locktype = 'advisory' and classid = ${LOCK_CLASS} and objid = ${process.pid} and not granted`,
        )
      ).rows.map((r) => Number(r.pid));
    const openFor = async (statements: number) =>
      client.query(
        `update ${schema}.gate set open_writes = (select case when is_called then last_value else 0 end from ${schema}.writes) + ${statements}`,
      );
    try {
      await client.query(`
        create schema ${schema};
        create table ${schema}.users (id text primary key, email text, score integer);
        create sequence ${schema}.writes;
        create table ${schema}.gate (open_writes bigint not null);
        insert into ${schema}.gate values (0);
        create function ${schema}.hold_writes() returns trigger language plpgsql as $$
        begin
          if nextval('${schema}.writes') > (select open_writes from ${schema}.gate) then
            perform pg_advisory_xact_lock_shared(${lock});
          end if;
          return null;
        end $$;
        -- An upsert fires the INSERT statement trigger (and the UPDATE one, not watched): one count per write.
        create trigger hold_writes before insert or delete on ${schema}.users for each statement execute function ${schema}.hold_writes();
        select pg_advisory_lock(${lock});
      `);
      project = await createProject({
        'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  db: { type: postgres, url: "\${PG_URL}", schema: ${schema}, concurrency: ${concurrency} }
`,
        'models/users.sql': 'select * from users',
        'syncs/users.yaml': `model: users\ndestination: db\nprimary_key: id\nmode: mirror\ntable: users\nmapping: { id: id, email: email, score: score }\nbatch_size: ${batch}\n`,
      });
      await project.warehouse(
        `create table users as select range as id, 'u' || range || '@x.io' as email, range::int as score from range(4000)`,
      );
      const env = { PG_URL };

      /** Lets `statements` more writes through, kills the run once the next ones wait, and ends the orphans. */
      const killAfter = async (statements: number) => {
        await openFor(statements);
        // Each check is a round trip to PostgreSQL: progress paces this loop, no clock does.
        await killWhen(['run', 'users'], env, async (alive) => {
          while (alive() && (await waiting()).length < concurrency);
        });
        // The killed run's writes still wait on the gate; end them so the next run starts from a quiet table.
        for (const pid of await waiting()) {
          expect((await client.query('select pg_terminate_backend($1, 60000) as ok', [pid])).rows[0].ok).toBe(true);
        }
      };

      await killAfter(500 / batch);
      await project.warehouse(
        `delete from users where id % 10 = 0; update users set score = -score where id % 7 = 0; insert into users select range, 'n' || range, 1 from range(4000, 4100)`,
      );
      await killAfter(2000 / batch);
      await client.query(`select pg_advisory_unlock(${lock})`);
      const final = await project.cli(['run', 'users', '--json'], env);
      expect(final.code, final.stderr).toBe(0);

      const model = await project.warehouse('select id::varchar as id, email, score from users order by id');
      const destination = (await client.query(`select id, email, score from ${schema}.users order by id`)).rows;
      expect(destination.length).toBe(model.length);
      expect(destination).toEqual(model.map((r) => ({ id: r.id, email: r.email, score: Number(r.score) })));
      const runs = JSON.parse(
        (await project.cli(['query', 'select status, count(*)::int as n from sync_runs group by 1 order by 1', '--json'], env)).stdout,
      );
      expect(runs).toEqual([
        { status: 'failed', n: 2 },
        { status: 'succeeded', n: 1 },
      ]);
    } finally {
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  });
});
