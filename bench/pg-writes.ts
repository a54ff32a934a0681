/**
 * Benchmark 3d: write throughput to a PostgreSQL destination from a PostgreSQL warehouse (DuckDB state,
 * the default), every row new, against a client-side raw upsert with the same batch size and number of
 * connections (`raw-pg-writer.ts`). The destination table is emptied and the state removed before each run.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { columnsOf, mappingOf } from './lib/dataset.js';
import type { Benchmark } from './lib/harness.js';
import { ensurePgWarehouse, PG_URL, pgUrl } from './lib/pg-dataset.js';
import type { Measured } from './lib/proc.js';
import { median, mib, ms, peakRss, perSecond, rowsLabel, table, thousands } from './lib/report.js';

const DEST_SCHEMA = 'bench_pgdest';
const DEST_TABLE = 'bench_dest';
const PG_TYPES: Record<string, string> = {
  id: 'bigint primary key',
  score: 'integer',
  ltv: 'double precision',
  active: 'boolean',
  created_at: 'timestamp',
};

async function resetDestination(): Promise<void> {
  const client = new pg.Client(PG_URL);
  await client.connect();
  try {
    const mapping = mappingOf('narrow');
    const columns = Object.entries(mapping).map(([field, column]) => `"${field}" ${PG_TYPES[column] ?? 'text'}`);
    await client.query(`create schema if not exists ${DEST_SCHEMA}`);
    await client.query(`drop table if exists ${DEST_SCHEMA}.${DEST_TABLE}`);
    await client.query(`create table ${DEST_SCHEMA}.${DEST_TABLE} (${columns.join(', ')})`);
  } finally {
    await client.end();
  }
}

async function destinationRows(): Promise<number> {
  const client = new pg.Client(PG_URL);
  await client.connect();
  try {
    return Number((await client.query(`select count(*) as n from ${DEST_SCHEMA}.${DEST_TABLE}`)).rows[0].n);
  } finally {
    await client.end();
  }
}

export const pgWrites: Benchmark = {
  id: 'pg-writes',
  title: 'write throughput to a PostgreSQL destination vs a raw client-side upsert',
  async run(ctx) {
    const rows = ctx.full ? 300_000 : 100_000;
    ctx.log(`  PostgreSQL warehouse of ${rowsLabel(rows)} rows`);
    await ensurePgWarehouse(rows, {});
    const dir = join(ctx.work, `pg-writes-${rows}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'models'), { recursive: true });
    await mkdir(join(dir, 'syncs'), { recursive: true });
    await writeFile(
      join(dir, 'hightouch-like.config.yaml'),
      'warehouse: { type: postgres, url: "${BENCH_PG_WH_URL}" }\n' +
        'destinations:\n' +
        `  pg: { type: postgres, url: "\${BENCH_PG_DEST_URL}", schema: ${DEST_SCHEMA} }\n`,
    );
    await writeFile(join(dir, 'models/bench.sql'), 'select * from model\n');
    const mapping = mappingOf('narrow');
    await writeFile(
      join(dir, 'syncs/bench.yaml'),
      ['model: bench', 'destination: pg', `table: ${DEST_TABLE}`, 'primary_key: id', 'mode: upsert', 'mapping:']
        .concat(Object.entries(mapping).map(([f, c]) => `  ${f}: ${c}`))
        .join('\n') + '\n',
    );
    const env = { ...ctx.env, BENCH_PG_WH_URL: pgUrl(rows), BENCH_PG_DEST_URL: PG_URL };
    const engine: Array<{ measured: Measured; sendMs: number; batch: number; concurrency: number }> = [];
    const raw: Array<{ measured: Measured; ms: number }> = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`  run ${i + 1}/${ctx.runs}`);
      await resetDestination();
      await rm(join(dir, '.hightouch-like'), { recursive: true, force: true });
      const measured = await ctx.measure(ctx.cli, ['--project', dir, 'run', 'bench', '--json'], { cwd: dir, env });
      if (measured.code !== 0) throw new Error(`run failed: ${measured.stderr.slice(-2000)}`);
      const events = measured.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; time: string; batch_size?: number; concurrency?: number });
      const started = events.find((e) => e.msg === 'run_started')!;
      const finished = events.find((e) => e.msg === 'run_finished')!;
      const landed = await destinationRows();
      if (landed !== rows) throw new Error(`the engine landed ${landed} of ${rows} rows`);
      engine.push({
        measured,
        sendMs: Date.parse(finished.time) - Date.parse(started.time),
        batch: started.batch_size ?? 0,
        concurrency: started.concurrency ?? 0,
      });
      await resetDestination();
      const r = await ctx.measure(ctx.script('raw-pg-writer'), [
        pgUrl(rows),
        PG_URL,
        `${DEST_SCHEMA}.${DEST_TABLE}`,
        String(rows),
        String(engine[i].batch),
        String(engine[i].concurrency),
      ]);
      if (r.code !== 0) throw new Error(`raw pg writer failed: ${r.stderr}`);
      raw.push({ measured: r, ms: (JSON.parse(r.stdout) as { ms: number }).ms });
      const rawLanded = await destinationRows();
      if (rawLanded !== rows) throw new Error(`the raw writer landed ${rawLanded} of ${rows} rows`);
    }
    const engineRate = median(engine.map((e) => perSecond(rows, e.sendMs)));
    const wholeRate = median(engine.map((e) => perSecond(rows, e.measured.wallMs)));
    const rawRate = median(raw.map((r) => perSecond(rows, r.ms)));
    const lines = [
      `A PostgreSQL 15 warehouse holding the narrow model (${columnsOf('narrow').length} columns), every row new, upserted into a ` +
        'PostgreSQL table of the same database server (`type: postgres`, default batch size and concurrency, DuckDB state). ' +
        '**engine** rows/s is over the send phase of `hightouch-like run` (`run_started` to `run_finished`: paging, the ' +
        'statements in the workers, the commits); **whole run** adds start-up and the plan, which streams the model out of ' +
        'PostgreSQL. **raw** (`bench/raw-pg-writer.ts`) sends multi-row `INSERT … VALUES … ON CONFLICT DO UPDATE` statements ' +
        'of the same batch size over as many connections, rows read before its clock starts. Every run landed every row.',
      '',
      ...table(
        ['rows', 'batch × connections', 'engine rows/s', 'whole run rows/s', 'raw rows/s', 'engine / raw', 'engine peak RSS'],
        [
          [
            rowsLabel(rows),
            `${engine[0].batch} × ${engine[0].concurrency}`,
            thousands(engineRate),
            thousands(wholeRate),
            thousands(rawRate),
            `${Math.round((100 * engineRate) / rawRate)}%`,
            mib(peakRss(engine.map((e) => e.measured))),
          ],
        ],
      ),
      '',
      'Target (issue 14): engine ≥ 70% of raw.',
    ];
    return { title: '3d. Write throughput: PostgreSQL destination', lines };
  },
};
