/**
 * The benchmarks, in the order of the issue: plan vs the raw join, incremental run, write throughput
 * (HTTP, then Salesforce), worker scaling, retry cost; the scaling curve is read off the plan and run
 * measurements at every size. Each returns a section of bench/RESULTS.md.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedCounts, restoreState, writeSyncFile, type BenchProject, type Diff } from './lib/dataset.js';
import {
  cli,
  measureRun,
  seededProject,
  throughputHeaders,
  throughputRow,
  writeCases,
  type Benchmark,
  type BenchContext,
  type RunFigures,
  type WriterFigures,
} from './lib/harness.js';
import { summariseProfiles } from './lib/profile.js';
import { UNCOMMITTED_ROWS } from '../core/execute/send-window.js';
import type { Measured } from './lib/proc.js';
import { median, mib, ms, peakRss, perSecond, ratio, rowsLabel, table, thousands } from './lib/report.js';
import { salesforceWrites } from './salesforce.js';
import { salesforceBulk } from './salesforce-bulk.js';
import { dashboardPaging } from './dashboard.js';
import { extract } from './extract.js';
import { pgPlan } from './pg-plan.js';
import { pgWrites } from './pg-writes.js';

/**
 * Past 10M rows (full bench only) the md5 baseline is not measured: hashing 100M payloads as JSON would
 * add minutes to the seeding and three more minutes-long joins, for the baseline issue 14 replaced.
 */
const HUGE_ROWS = 100_000_000;
const planSizes = (ctx: BenchContext) => ctx.planRows ?? (ctx.full ? [100_000, 1_000_000, 10_000_000, HUGE_ROWS] : [100_000, 1_000_000]);
const huge = (rows: number) => rows > 10_000_000;

/** 1% changed, 0.5% added, 0.5% removed: the issue's plan workload. */
const planDiff = (rows: number): Diff => ({ changedEvery: 100, addedEvery: 200, removed: rows / 200 });

/** Plan and run at each size, shared by the plan benchmark and the scaling curve. */
interface SizeFigures {
  rows: number;
  /** The new baseline: DuckDB's hash of the mapped columns. */
  raw: Measured[];
  rawStatementMs: number[];
  /** The former baseline: md5 of the payload JSON. */
  rawMd5: Measured[];
  rawMd5StatementMs: number[];
  plan: Measured[];
  run: RunFigures[];
  countsOk: boolean;
}
const sizeFigures: SizeFigures[] = [];

const planVsRaw: Benchmark = {
  id: 'plan',
  title: 'plan (diff) vs the raw DuckDB join, and the scaling curve',
  async run(ctx) {
    for (const rows of planSizes(ctx)) {
      const diff = planDiff(rows);
      const expected = expectedCounts(rows, diff);
      const project = await seededProject(ctx, `plan-${rows}`, { shape: 'narrow', rows }, diff, {}, { md5: !huge(rows) });
      const figures: SizeFigures = {
        rows,
        raw: [],
        rawStatementMs: [],
        rawMd5: [],
        rawMd5StatementMs: [],
        plan: [],
        run: [],
        countsOk: true,
      };
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`  ${rowsLabel(rows)} rows, run ${i + 1}/${ctx.runs}`);
        // The previous iteration's run moved the snapshot on: plan against the seeded state again.
        await restoreState(project);
        const rawCounts = [];
        for (const kind of huge(rows) ? (['values'] as const) : (['values', 'md5json'] as const)) {
          const raw = await ctx.measure(ctx.script('raw-plan'), [project.statePath, project.warehousePath, 'narrow', kind]);
          if (raw.code !== 0) throw new Error(`raw plan failed: ${raw.stderr}`);
          const counted = JSON.parse(raw.stdout) as { ms: number; added: number; changed: number; removed: number };
          (kind === 'values' ? figures.raw : figures.rawMd5).push(raw);
          (kind === 'values' ? figures.rawStatementMs : figures.rawMd5StatementMs).push(counted.ms);
          rawCounts.push(counted);
        }

        const plan = await cli(ctx, project, ['plan', 'bench', '--json']);
        const counts = (JSON.parse(plan.stdout) as Array<Record<string, number>>)[0];
        figures.plan.push(plan);
        for (const c of [...rawCounts, counts]) {
          if (c.added !== expected.added || c.changed !== expected.changed || c.removed !== expected.removed) {
            figures.countsOk = false;
            ctx.log(`  counts differ: expected ${JSON.stringify(expected)}, got ${JSON.stringify(c)}`);
          }
        }
        figures.run.push(await measureRun(ctx, project));
      }
      sizeFigures.push(figures);
    }

    const lines = [
      'Model of N rows × 10 columns in a DuckDB warehouse; the previous snapshot differs by 1% changed, 0.5% added and ' +
        '0.5% removed rows. **plan** is `hightouch-like plan bench --json` end to end (Node start-up, config, preflight, ' +
        'the diff, counts). **raw** is a process that opens the same state file, attaches the same warehouse and runs the ' +
        "one full outer join that computes the same three counts (`bench/raw-plan.ts`) on DuckDB's 64-bit " +
        '`hash(c1, …, c10)` of the mapped columns, the fastest diff the database can do; its statement time is shown ' +
        "apart. **raw md5** is the same join on md5 of each row's payload JSON (the engine's row hash before migration " +
        "14, and this table's baseline before issue 14). All answered the expected counts in every run: " +
        (sizeFigures.every((f) => f.countsOk) ? '**yes**.' : '**NO** (see the log).'),
      '',
      ...table(
        [
          'rows',
          'raw statement',
          'raw process',
          'raw md5 statement',
          'raw md5 process',
          'plan process',
          'plan / raw',
          'plan / raw md5',
          'raw peak RSS',
          'plan peak RSS',
        ],
        sizeFigures.map((f) => {
          const plan = median(f.plan.map((r) => r.wallMs));
          return [
            rowsLabel(f.rows),
            ms(median(f.rawStatementMs)),
            ms(median(f.raw.map((r) => r.wallMs))),
            f.rawMd5.length ? ms(median(f.rawMd5StatementMs)) : 'not measured',
            f.rawMd5.length ? ms(median(f.rawMd5.map((r) => r.wallMs))) : 'not measured',
            ms(plan),
            ratio(plan, median(f.raw.map((r) => r.wallMs))),
            f.rawMd5.length ? ratio(plan, median(f.rawMd5.map((r) => r.wallMs))) : '—',
            mib(peakRss(f.raw)),
            mib(peakRss(f.plan)),
          ];
        }),
      ),
      '',
      'Targets (issue 14): plan ≤ 2 × raw at 10M rows; plan peak RSS under 1 GiB at 10M rows; at 100M rows plan under ' +
        '60 s and peak RSS under 2 GiB. At 100M rows the md5 baseline is not measured.',
      '',
      '### Scaling curve (benchmark 6)',
      '',
      '`run` from the same seeded state (upsert: the 1.5% changed and added rows are sent to the HTTP sink, 0 ms ' +
        'latency, default batch size and concurrency). Cost per million model rows shows whether time grows linearly.',
      '',
      ...table(
        ['rows', 'plan', 'plan per 1M rows', 'plan peak RSS', 'run', 'run per 1M rows', 'of which sending', 'rows sent', 'run peak RSS'],
        sizeFigures.map((f) => {
          const plan = median(f.plan.map((r) => r.wallMs));
          const run = median(f.run.map((r) => r.measured.wallMs));
          return [
            rowsLabel(f.rows),
            ms(plan),
            ms((plan * 1e6) / f.rows),
            mib(peakRss(f.plan)),
            ms(run),
            ms((run * 1e6) / f.rows),
            ms(median(f.run.map((r) => r.sendMs))),
            thousands(f.run[0].report.sent),
            mib(peakRss(f.run.map((r) => r.measured))),
          ];
        }),
      ),
    ];
    return { title: '1. Plan (diff) cost vs the raw limit — and 6. the scaling curve', lines };
  },
};

const incremental: Benchmark = {
  id: 'incremental',
  title: 'incremental run, 0.1% changed',
  async run(ctx) {
    const rows = ctx.full ? 10_000_000 : 1_000_000;
    const diff: Diff = { changedEvery: 1000 };
    const { changed } = expectedCounts(rows, diff);
    const project = await seededProject(ctx, `incremental-${rows}`, { shape: 'narrow', rows }, diff);
    const runs: RunFigures[] = [];
    const requests: number[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`  run ${i + 1}/${ctx.runs}`);
      await ctx.sink.configure({});
      runs.push(await measureRun(ctx, project));
      requests.push((await ctx.sink.stats()).requests);
    }
    const batch = runs[0].batchSize;
    const expectedCalls = Math.ceil(changed / batch);
    const exact =
      runs.every((r) => r.report.api_calls === expectedCalls && r.report.succeeded === changed) &&
      requests.every((n) => n === expectedCalls);
    return {
      title: '2. Incremental run',
      lines: [
        `A ${rowsLabel(rows)}-row model (10 columns) of which 0.1% changed since the last run, synced to the HTTP sink ` +
          `(0 ms latency, default batch size ${batch} and concurrency ${runs[0].concurrency}). Wall time is the whole ` +
          '`hightouch-like run` process.',
        '',
        ...table(
          ['rows', 'changed', 'run (wall)', 'of which sending', 'API calls', '⌈changed / batch⌉', 'calls the sink saw', 'peak RSS'],
          [
            [
              rowsLabel(rows),
              thousands(changed),
              ms(median(runs.map((r) => r.measured.wallMs))),
              ms(median(runs.map((r) => r.sendMs))),
              runs.map((r) => r.report.api_calls).join(', '),
              expectedCalls,
              requests.join(', '),
              mib(peakRss(runs.map((r) => r.measured))),
            ],
          ],
        ),
        '',
        `API calls equal ⌈changed / batch size⌉ exactly in every run: **${exact ? 'yes' : 'NO'}**.`,
      ],
    };
  },
};

async function rawWriter(
  ctx: BenchContext,
  project: BenchProject,
  rows: number,
  batch: number,
  concurrency: number,
): Promise<WriterFigures> {
  const measured = await ctx.measure(ctx.script('raw-writer'), [
    project.warehousePath,
    project.options.shape,
    ctx.sink.url,
    String(rows),
    String(batch),
    String(concurrency),
  ]);
  if (measured.code !== 0) throw new Error(`raw writer failed: ${measured.stderr}`);
  return JSON.parse(measured.stdout) as WriterFigures;
}

const httpWrites: Benchmark = {
  id: 'writes',
  title: 'write throughput to an HTTP sink',
  async run(ctx) {
    const body: Array<Array<string | number>> = [];
    let profiled: BenchProject | null = null;
    let floor: string[] = [];
    for (const c of writeCases(ctx)) {
      const project = await seededProject(ctx, `writes-${c.rows}`, { shape: 'narrow', rows: c.rows }, { changedEvery: 1 });
      profiled ??= project;
      const engine: RunFigures[] = [];
      const raw: WriterFigures[] = [];
      const sequential: WriterFigures[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`  ${c.latencyMs} ms latency, run ${i + 1}/${ctx.runs}`);
        await ctx.sink.configure({ latencyMs: c.latencyMs });
        const run = await measureRun(ctx, project);
        if (run.report.succeeded !== c.rows) throw new Error(`engine synced ${run.report.succeeded} of ${c.rows} rows`);
        engine.push(run);
        raw.push(await rawWriter(ctx, project, c.rows, run.batchSize, run.concurrency));
        sequential.push(await rawWriter(ctx, project, c.rows, 200, 1));
      }
      body.push(throughputRow(c.latencyMs, c.rows, engine, raw, sequential));
      if (c.latencyMs === 0) floor = await stateFloor(ctx, project, engine, raw);
    }
    await ctx.sink.configure({});
    return {
      title: '3a. Write throughput: HTTP',
      lines: [
        'Every model row changed (upsert), sent to the HTTP sink with default settings. **engine** rows/s is over the send ' +
          'phase of `hightouch-like run` (from `run_started` to `run_finished` in its log: paging the plan, JSON in the ' +
          'workers, HTTP, the per-batch commits, the snapshot fold); **whole run** adds start-up and the plan. **raw** ' +
          '(`bench/raw-writer.ts`) POSTs the same bodies, built before its clock starts, with the same batch size and ' +
          'number of requests in flight. **sequential** is the loop a user would write: one 200-row POST at a time.',
        '',
        ...table(throughputHeaders('sequential'), body),
        '',
        'Target: engine ≥ 70% of raw at 0 ms.',
        '',
        ...floor,
        ...(await profileRun(ctx, profiled!)),
      ],
    };
  },
};

/** What `state-floor.ts` prints. */
interface FloorFigures {
  rows: number;
  ms: number;
  pagesMs: number;
  marksMs: number;
  commitsMs: number;
  commits: number;
  settleMs: number;
}

/**
 * The 0 ms run's state floor (bench/state-floor.ts), from the same seeded state, in commits of the rows
 * a run may hold uncommitted: how fast the state store's per-row work alone lets a run go.
 */
async function stateFloor(ctx: BenchContext, project: BenchProject, engine: RunFigures[], raw: WriterFigures[]): Promise<string[]> {
  const floors: FloorFigures[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`  state floor, run ${i + 1}/${ctx.runs}`);
    await restoreState(project);
    const measured = await ctx.measure(ctx.script('state-floor'), [project.dir, String(UNCOMMITTED_ROWS)], {
      env: ctx.env,
      cwd: project.dir,
    });
    if (measured.code !== 0) throw new Error(`state-floor exited ${measured.code}: ${measured.stderr.slice(-2000)}`);
    floors.push(JSON.parse(measured.stdout) as FloorFigures);
  }
  const rows = floors[0].rows;
  const floorRate = median(floors.map((f) => perSecond(f.rows, f.ms)));
  const engineRate = median(engine.map((r) => perSecond(rows, r.sendMs)));
  const rawRate = median(raw.map((r) => perSecond(r.rows, r.ms)));
  const part = (pick: (f: FloorFigures) => number) => ms(median(floors.map(pick)));
  return [
    `### The state floor of the 0 ms run (${rowsLabel(rows)} rows)`,
    '',
    "**state floor** (`bench/state-floor.ts`) is the state store's work for the same run with no destination and no " +
      "write threads: the plan's pages read, each page's keys marked pending, every row committed as acknowledged in " +
      `commits of ${thousands(UNCOMMITTED_ROWS)} rows (the most a run holds uncommitted), the snapshot log settled; ` +
      "the engine's own functions in the executor's order, on one connection, timed after the plan. A 0 ms run cannot " +
      'send faster than it, whatever its threads do.',
    '',
    ...table(
      ['rows', 'state floor rows/s', 'floor / raw', 'engine / floor', 'page reads', 'pending marks', 'commits', 'settle (fold)'],
      [
        [
          rowsLabel(rows),
          thousands(floorRate),
          `${Math.round((100 * floorRate) / rawRate)}%`,
          `${Math.round((100 * engineRate) / floorRate)}%`,
          part((f) => f.pagesMs),
          part((f) => f.marksMs),
          `${part((f) => f.commitsMs)} (${floors[0].commits})`,
          part((f) => f.settleMs),
        ],
      ],
    ),
    '',
  ];
}

/** The worst case against its baseline, once more under `node --cpu-prof`: the top frames of each thread. */
async function profileRun(ctx: BenchContext, project: BenchProject): Promise<string[]> {
  const dir = join(ctx.work, 'profile');
  await rm(dir, { recursive: true, force: true });
  ctx.log('  profiling the 0 ms run');
  const run = await measureRun(ctx, project, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  const threads = await summariseProfiles(dir, ctx.root, 6);
  const lines = [
    `### Profile of the 0 ms run (${rowsLabel(project.options.rows)} rows, one run under \`node --cpu-prof\`, ${ms(run.measured.wallMs)} wall)`,
    '',
    "Self time per frame; **busy** is the thread's sampled time minus idle. The first profile is the main thread, the others the worker threads.",
    '',
  ];
  for (const [i, t] of threads.entries()) {
    lines.push(`${i === 0 ? 'Main thread' : `Worker ${i}`}: busy ${ms(t.busyMs)} of ${ms(t.totalMs)}.`, '');
    lines.push(
      ...table(
        ['frame', 'self', 'share'],
        t.top.map((f) => [`\`${f.frame}\``, ms(f.selfMs), `${(100 * f.share).toFixed(1)}%`]),
      ),
      '',
    );
  }
  return lines;
}

const workerScaling: Benchmark = {
  id: 'workers',
  title: 'worker scaling, wide rows',
  async run(ctx) {
    const rows = ctx.full ? 200_000 : 40_000;
    const concurrency = 4;
    const seeded = await seededProject(ctx, `workers-${rows}`, { shape: 'wide', rows, concurrency }, { changedEvery: 1 });
    const body: Array<Array<string | number>> = [];
    let base = 0;
    for (const workers of [1, 2, 4]) {
      const project = { ...seeded, options: { ...seeded.options, workers } };
      await writeSyncFile(project.dir, project.options);
      const runs: RunFigures[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`  ${workers} worker thread(s), run ${i + 1}/${ctx.runs}`);
        runs.push(await measureRun(ctx, project));
      }
      const rate = median(runs.map((r) => perSecond(rows, r.sendMs)));
      base ||= rate;
      const cores = median(runs.map((r) => (r.measured.cpuSeconds ?? NaN) / (r.measured.wallMs / 1000)));
      body.push([
        workers,
        thousands(rate),
        ratio(rate, base),
        Number.isNaN(cores) ? 'n/a' : cores.toFixed(2),
        mib(peakRss(runs.map((r) => r.measured))),
      ]);
    }
    return {
      title: '4. Worker scaling',
      lines: [
        `${rowsLabel(rows)} wide rows (60 columns, about 2.5 kB of JSON each), every row changed, to the HTTP sink at 0 ms ` +
          `latency, batch size 100, ${concurrency} calls in flight spread over 1, 2 and 4 worker threads (\`workers\`). ` +
          'Parsing the payloads and building the request bodies run in the workers, so this is the CPU-heavy case. ' +
          "**cores busy** is the CLI process's CPU time over its wall time (the sink runs in another process). " +
          'Without `workers`, a sync takes one thread per core up to its concurrency: 2 threads on 2 cores.',
        '',
        ...table(['worker threads', 'rows/s (send phase)', 'vs 1 thread', 'cores busy', 'peak RSS'], body),
      ],
    };
  },
};

/** API calls needed at the least: each batch's halving tree to isolate its rejected rows, plus one resend per batch holding a transient row. */
export function minimumCalls(rows: number, batch: number, rejected: (id: number) => boolean, transient: (id: number) => boolean): number {
  const keys = Array.from({ length: rows }, (_, i) => String(i + 1)).sort();
  const halving = (group: string[]): number => {
    if (!group.some((k) => rejected(Number(k))) || group.length === 1) return 1;
    const middle = Math.ceil(group.length / 2);
    return 1 + halving(group.slice(0, middle)) + halving(group.slice(middle));
  };
  let calls = 0;
  for (let i = 0; i < keys.length; i += batch) {
    const group = keys.slice(i, i + batch);
    calls += halving(group) + (group.some((k) => transient(Number(k))) ? 1 : 0);
  }
  return calls;
}

const retryCost: Benchmark = {
  id: 'retry',
  title: 'retry cost',
  async run(ctx) {
    const rows = 100_000;
    const fault = { rejectEvery: 100, rejectOffset: 7, transientEvery: 100, transientOffset: 53 };
    const project = await seededProject(ctx, `retry-${rows}`, { shape: 'narrow', rows }, { changedEvery: 1 });
    const runs: RunFigures[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`  run ${i + 1}/${ctx.runs}`);
      await ctx.sink.configure(fault);
      runs.push(await measureRun(ctx, project));
    }
    await ctx.sink.configure({});
    const batch = runs[0].batchSize;
    const minimum = minimumCalls(
      rows,
      batch,
      (id) => id % 100 === 7,
      (id) => id % 100 === 53,
    );
    const clean = Math.ceil(rows / batch);
    const calls = median(runs.map((r) => r.report.api_calls));
    return {
      title: '5. Retry cost',
      lines: [
        `${rowsLabel(rows)} rows to the HTTP sink (0 ms latency, default batch size ${batch}, concurrency ` +
          `${runs[0].concurrency}, default retry policy). 1% of rows are rejected (the sink answers 400 for the whole ` +
          "request), 1% fail once transiently (503 the first time the sink sees them). The **minimum** is every batch's " +
          'halving tree down to its rejected rows plus one resend per batch that held a transient row; a run without ' +
          `faults takes ${thousands(clean)} calls.`,
        '',
        ...table(
          ['rows', 'succeeded', 'rejected', 'API calls', 'minimum', 'calls / minimum', 'run (wall)', 'of which sending'],
          [
            [
              rowsLabel(rows),
              runs.map((r) => thousands(r.report.succeeded)).join(', '),
              runs.map((r) => thousands(r.report.failed)).join(', '),
              runs.map((r) => thousands(r.report.api_calls)).join(', '),
              thousands(minimum),
              ratio(calls, minimum),
              ms(median(runs.map((r) => r.measured.wallMs))),
              ms(median(runs.map((r) => r.sendMs))),
            ],
          ],
        ),
      ],
    };
  },
};

export const benchmarks: Benchmark[] = [
  planVsRaw,
  pgPlan,
  incremental,
  httpWrites,
  salesforceWrites,
  salesforceBulk,
  pgWrites,
  workerScaling,
  retryCost,
  dashboardPaging,
  extract,
];
