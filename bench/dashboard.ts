/**
 * Benchmark 7: the dashboard's paged API on a big state store. A DuckDB state store is filled with
 * 1M failed rows (5 error codes, 3 statuses) and 10k runs, the last one with a 100k-row changelog; an
 * in-process `serve` answers. Each API call (first page, a page deep into the list by cursor, filtered
 * pages, a run's page, the issues log, the HTML pages) is timed against the raw query that reads the
 * same rows on the same DuckDB instance, in the same session: the ratio is what paging, JSON and HTTP add.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadProject } from '../core/config/load-project.js';
import { RunController } from '../core/run/controller.js';
import { Service } from '../core/service/service.js';
import { openStateStore } from '../core/state/state-store.js';
import type { Benchmark } from './lib/harness.js';
import { median, ms, ratio, table } from './lib/report.js';

const FAILED = 1_000_000;
const RUNS = 10_000;
const CHANGELOG = 100_000;
const CODES = ['HTTP_ROW_REJECTED', 'BAD_EMAIL', 'LOCKED', 'DUPLICATE', 'HTTP_503'];

async function fill(db: Kysely<any>): Promise<void> {
  const codes = `(['${CODES.join("','")}'])`;
  await sql
    .raw(`insert into failed_rows (sync_name, primary_key, error_class, error_code, error_message, attempts, first_failed_at,
      last_failed_at, next_retry_at, status, run_id, op, tries, remediation, destination_id)
    select 'bench', lpad(i::varchar, 8, '0'), 'rejected', ${codes}[1 + i % 5], 'row ' || i || ' refused: field email is not valid',
      1 + i % 7, timestamptz '2026-01-01 00:00:00+00', timestamptz '2026-01-02 00:00:00+00' + to_seconds(i % 86400),
      case when i % 3 = 1 then null else timestamptz '2026-01-03 00:00:00+00' end,
      (['retrying', 'blocked', 'timeout_queue'])[1 + i % 3], 'run-' || lpad((i % ${RUNS})::varchar, 6, '0'), 'upsert', 1 + i % 4,
      'Fix the value in the model.', 'dest-' || i
    from range(${FAILED}) t(i)`)
    .execute(db);
  await sql
    .raw(`insert into sync_runs (run_id, sync_name, status, started_at, finished_at, rows_planned, rows_succeeded, rows_failed,
      rows_invalid, api_calls, rows_added, rows_changed, rows_removed, rows_retrying, full_resync)
    select 'run-' || lpad(i::varchar, 6, '0'), 'bench', 'completed_with_errors', timestamptz '2025-01-01 00:00:00+00' + to_minutes(i * 15),
      timestamptz '2025-01-01 00:00:00+00' + to_minutes(i * 15) + to_seconds(20 + i % 40), 1000, 900 + i % 50, 100 - i % 50, i % 5, 10,
      10, 990, 0, 0, false
    from range(${RUNS}) t(i)`)
    .execute(db);
  const last = `run-${String(RUNS - 1).padStart(6, '0')}`;
  await sql
    .raw(`insert into sync_changelog (run_id, sync_name, primary_key, op, status, error_code, error_message, "at")
    select '${last}', 'bench', lpad(i::varchar, 8, '0'), 'upsert', case when i % 10 = 0 then 'failed' else 'succeeded' end,
      case when i % 10 = 0 then ${codes}[1 + i % 5] end, case when i % 10 = 0 then 'refused' end, timestamptz '2027-01-01 00:00:00+00'
    from range(${CHANGELOG}) t(i)`)
    .execute(db);
}

interface Case {
  name: string;
  path: string;
  raw: string;
}

export const dashboardPaging: Benchmark = {
  id: 'dashboard',
  title: 'the dashboard’s paged API with 1M failed rows and 10k runs',
  async run(ctx) {
    const dir = join(ctx.work, 'dashboard');
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'syncs'), { recursive: true });
    await mkdir(join(dir, 'models'), { recursive: true });
    await writeFile(join(dir, 'hightouch-like.config.yaml'), 'destinations:\n  api: { type: http, url: "${BENCH_SINK_URL}" }\n');
    await writeFile(join(dir, 'models', 'bench.sql'), 'select 1 as id, 1 as v');
    await writeFile(join(dir, 'syncs', 'bench.yaml'), 'model: bench\ndestination: api\nprimary_key: id\nmapping: { v: v }\n');
    const project = await loadProject(dir, { ...process.env, ...ctx.env });
    ctx.log(`  filling ${FAILED} failed rows, ${RUNS} runs, a ${CHANGELOG}-row changelog`);
    const store = await openStateStore(project, { readOnly: false });
    await fill(store.db);
    await store.close();

    const controller = new RunController();
    const service = new Service({ project, controller, host: '127.0.0.1', port: 0, onRunEvent: () => {}, log: () => {} });
    const { port } = await service.start();
    const raw = await openStateStore(project, { readOnly: true });
    try {
      const base = `http://127.0.0.1:${port}`;
      const get = async (path: string) => {
        const response = await fetch(base + path);
        if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${await response.text()}`);
        return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
      };
      const cursor = (values: string[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
      const deepKey = '00900000';
      const lastRun = `run-${String(RUNS - 1).padStart(6, '0')}`;
      const runPage = (where: string) =>
        `select * from sync_runs where sync_name = 'bench' ${where} order by started_at desc, run_id desc limit 51`;
      const deepRun = (await get(`/api/syncs/bench/runs?limit=500`)) as { rows: Array<{ started_at: string; run_id: string }> };
      const atRun = deepRun.rows[deepRun.rows.length - 1];
      const cases: Case[] = [
        {
          name: 'failed rows, first page',
          path: '/api/failed-rows?sync=bench',
          raw: `select * from failed_rows where sync_name = 'bench' order by sync_name, primary_key limit 51`,
        },
        {
          name: 'failed rows, page at row 900k (cursor)',
          path: `/api/failed-rows?sync=bench&after=${cursor(['bench', deepKey])}`,
          raw: `select * from failed_rows where sync_name = 'bench' and primary_key > '${deepKey}' order by sync_name, primary_key limit 51`,
        },
        {
          name: 'failed rows by code and status',
          path: '/api/failed-rows?sync=bench&error_code=LOCKED&status=blocked',
          raw: `select * from failed_rows where sync_name = 'bench' and error_code = 'LOCKED' and status = 'blocked' order by sync_name, primary_key limit 51`,
        },
        {
          name: 'failed rows by key prefix',
          path: '/api/failed-rows?sync=bench&key=0077',
          raw: `select * from failed_rows where sync_name = 'bench' and starts_with(primary_key, '0077') order by sync_name, primary_key limit 51`,
        },
        { name: 'runs, first page', path: '/api/syncs/bench/runs', raw: runPage('') },
        {
          name: 'runs, page at run 500 (cursor)',
          path: `/api/syncs/bench/runs?after=${cursor([atRun.started_at, atRun.run_id])}`,
          raw: runPage(`and (started_at < '${atRun.started_at}' or (started_at = '${atRun.started_at}' and run_id < '${atRun.run_id}'))`),
        },
        {
          name: 'a run: counts by op, errors by code',
          path: `/api/runs/${lastRun}`,
          raw: `select op, status, count(*) from sync_changelog where run_id = '${lastRun}' group by all`,
        },
        {
          name: 'a run’s changelog, page at row 50k',
          path: `/api/runs/${lastRun}/changelog?after=${cursor(['50000'])}`,
          raw: `select * from sync_changelog where run_id = '${lastRun}' order by primary_key, "at", op limit 51 offset 50000`,
        },
        {
          name: 'issues log (per code: counts, samples)',
          path: '/api/issues?sync=bench',
          raw: `select error_code, count(*) from failed_rows where sync_name = 'bench' group by error_code`,
        },
        {
          name: 'page: syncs overview (HTML)',
          path: '/',
          raw: `select sync_name, status, count(*) from failed_rows group by all`,
        },
        {
          name: 'page: failed rows (HTML)',
          path: '/failed-rows?sync=bench',
          raw: `select * from failed_rows where sync_name = 'bench' order by sync_name, primary_key limit 51`,
        },
        { name: 'page: sync, runs and chart (HTML)', path: '/syncs/bench', raw: runPage('') },
      ];
      const rows: string[][] = [];
      for (const c of cases) {
        const apiMs: number[] = [];
        const rawMs: number[] = [];
        await get(c.path);
        for (let i = 0; i < Math.max(5, ctx.runs); i++) {
          let t = performance.now();
          await sql.raw(c.raw).execute(raw.db);
          rawMs.push(performance.now() - t);
          t = performance.now();
          await get(c.path);
          apiMs.push(performance.now() - t);
        }
        rows.push([c.name, ms(median(rawMs)), ms(median(apiMs)), ratio(median(apiMs), median(rawMs))]);
        ctx.log(`  ${c.name}: ${ms(median(apiMs))}`);
      }
      return {
        title: '7. The dashboard’s paged API',
        lines: [
          `A DuckDB state store with ${FAILED.toLocaleString('en-US')} failed rows (5 codes, 3 statuses), ${RUNS.toLocaleString('en-US')} runs and a ` +
            `${CHANGELOG.toLocaleString('en-US')}-row changelog for the last run; \`serve\` runs in the bench process. **API** is one HTTP call ` +
            "(50 rows a page, JSON or HTML); **raw** is the SQL that reads the same rows on the service's DuckDB instance, in the same " +
            'session. Medians of at least 5 calls, after one warm-up call each.',
          '',
          ...table(['call', 'raw query', 'API', 'API / raw'], rows),
          '',
          'Paging is keyset on the failed-row index’s primary key (sync, key) and on (started_at, run_id) for runs, so a page deep ' +
            'in the list costs what the first one does; a run’s changelog pages by offset within the run (its rows have no unique key). ' +
            'The issues log and the overview group the whole index, once per call.',
        ],
      };
    } finally {
      await raw.close();
      await service.stop();
      await controller.close();
    }
  },
};
