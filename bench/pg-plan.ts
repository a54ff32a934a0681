/**
 * Benchmark 1b: plan over a PostgreSQL warehouse, in both pairings (DuckDB state: key and hash leave by
 * COPY, payloads of changed rows read back; PostgreSQL state in the same database: one staging statement
 * and the diff), against the raw limit of each
 * (`raw-pg-plan.ts`). Same model and diff as benchmark 1.
 */
import { expectedCounts, type Diff } from './lib/dataset.js';
import type { Benchmark } from './lib/harness.js';
import { ensurePgWarehouse, pgUrl, seededPgProject, type PgPairing } from './lib/pg-dataset.js';
import type { Measured } from './lib/proc.js';
import { median, mib, ms, peakRss, ratio, rowsLabel, table } from './lib/report.js';

const planDiff = (rows: number): Diff => ({ changedEvery: 100, addedEvery: 200, removed: rows / 200 });

export const pgPlan: Benchmark = {
  id: 'pg-plan',
  title: 'plan over a PostgreSQL warehouse (DuckDB state, PostgreSQL state) vs the raw join',
  async run(ctx) {
    const body: string[][] = [];
    let countsOk = true;
    for (const rows of ctx.full ? [1_000_000, 10_000_000] : [1_000_000]) {
      const diff = planDiff(rows);
      const expected = expectedCounts(rows, diff);
      ctx.log(`  PostgreSQL warehouse of ${rowsLabel(rows)} rows`);
      await ensurePgWarehouse(rows, diff);
      for (const pairing of ['pg-duckdb', 'pg-pg'] as PgPairing[]) {
        ctx.log(`  seeding ${pairing}-${rows}`);
        const project = await seededPgProject(ctx.work, pairing, rows);
        const env = { ...ctx.env, BENCH_PG_WH_URL: pgUrl(rows) };
        const raw: Measured[] = [];
        const rawMs: number[] = [];
        const plan: Measured[] = [];
        for (let i = 0; i < ctx.runs; i++) {
          ctx.log(`  ${pairing} ${rowsLabel(rows)} rows, run ${i + 1}/${ctx.runs}`);
          const r = await ctx.measure(ctx.script('raw-pg-plan'), [pairing, String(rows), project.statePath], { env });
          if (r.code !== 0) throw new Error(`raw pg plan failed: ${r.stderr}`);
          const rawCounts = JSON.parse(r.stdout) as { ms: number; added: number; changed: number; removed: number };
          raw.push(r);
          rawMs.push(rawCounts.ms);
          const p = await ctx.measure(ctx.cli, ['--project', project.dir, 'plan', 'bench', '--json'], { cwd: project.dir, env });
          if (p.code !== 0) throw new Error(`plan failed: ${p.stderr.slice(-2000)}`);
          plan.push(p);
          for (const c of [rawCounts, (JSON.parse(p.stdout) as Array<Record<string, number>>)[0]]) {
            if (c.added !== expected.added || c.changed !== expected.changed || c.removed !== expected.removed) {
              countsOk = false;
              ctx.log(`  counts differ: expected ${JSON.stringify(expected)}, got ${JSON.stringify(c)}`);
            }
          }
        }
        const planMs = median(plan.map((m) => m.wallMs));
        const rawWall = median(raw.map((m) => m.wallMs));
        body.push([
          pairing === 'pg-pg' ? 'PostgreSQL → PostgreSQL state' : 'PostgreSQL → DuckDB state',
          rowsLabel(rows),
          ms(median(rawMs)),
          ms(rawWall),
          ms(planMs),
          ratio(planMs, rawWall),
          mib(peakRss(raw)),
          mib(peakRss(plan)),
        ]);
      }
    }
    const lines = [
      'A PostgreSQL 15 warehouse holding the narrow model (10 columns) as a table; the previous snapshot differs as in ' +
        'benchmark 1. **plan** is `hightouch-like plan bench --json` end to end. **raw** (`bench/raw-pg-plan.ts`): with ' +
        'PostgreSQL state, one PostgreSQL statement, the full outer join on `hash_record_extended` of the mapped columns; ' +
        'with DuckDB state, `COPY (select * from model) TO STDOUT (format csv)` by psql into a file, read by DuckDB ' +
        "`read_csv` and joined on DuckDB's `hash(c1, …, c10)`. Its work after connecting is shown apart. The engine " +
        'hashes the row text of the mapped values in PostgreSQL in both pairings (README, "Row hashes"); with DuckDB ' +
        "state, key and hash leave PostgreSQL by COPY and the changed rows' payloads are read back by key. All answered " +
        'the expected counts in every run: ' +
        (countsOk ? '**yes**.' : '**NO** (see the log).'),
      '',
      ...table(['pairing', 'rows', 'raw work', 'raw process', 'plan process', 'plan / raw', 'raw peak RSS', 'plan peak RSS'], body),
      '',
      'Targets (issue 14): plan ≤ 3 × raw with peak RSS under 1 GiB.',
    ];
    return { title: '1b. Plan over a PostgreSQL warehouse', lines };
  },
};
