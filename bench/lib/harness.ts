/**
 * What every benchmark shares: the context `run.ts` hands over, and measured CLI runs of a bench
 * project from its seeded state.
 */
import { join } from 'node:path';
import {
  createProject,
  ensureWarehouse,
  restoreState,
  seedSnapshot,
  type BenchProject,
  type Diff,
  type SeedOptions,
  type ProjectOptions,
} from './dataset.js';
import type { MeasureOptions, Measured } from './proc.js';
import type { SinkProcess } from './sink-process.js';
import { median, mib, peakRss, perSecond, ratio, rowsLabel, thousands } from './report.js';

export interface BenchContext {
  full: boolean;
  runs: number;
  /** `--plan-rows`: the plan benchmark's sizes, instead of its default ones. */
  planRows: number[] | null;
  root: string;
  work: string;
  sink: SinkProcess;
  /** What every bench project's config reads ($BENCH_SINK_URL). */
  env: Record<string, string>;
  cli: string;
  script(name: string): string;
  measure(script: string, args: string[], options?: MeasureOptions): Promise<Measured>;
  log(text: string): void;
}

export interface Section {
  title: string;
  lines: string[];
}

export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Section>;
}

/** The run report `run --json` prints, and the phases read off its JSON log lines. */
export interface RunFigures {
  measured: Measured;
  report: { status: string; sent: number; succeeded: number; failed: number; api_calls: number; plan: Record<string, number> };
  /** From `run_started` to `run_finished`: paging, sending, committing. */
  sendMs: number;
  batchSize: number;
  concurrency: number;
  workers: number;
}

export async function cli(ctx: BenchContext, project: BenchProject, args: string[], options: MeasureOptions = {}): Promise<Measured> {
  const measured = await ctx.measure(ctx.cli, ['--project', project.dir, ...args], {
    cwd: project.dir,
    ...options,
    env: { ...ctx.env, ...options.env },
  });
  if (measured.code !== 0 && measured.code !== 2) {
    throw new Error(`hightouch-like ${args.join(' ')} exited ${measured.code}: ${measured.stderr.slice(-2000)}`);
  }
  return measured;
}

/** One measured `run` from the seeded state. */
export async function measureRun(ctx: BenchContext, project: BenchProject, options: MeasureOptions = {}): Promise<RunFigures> {
  await restoreState(project);
  const measured = await cli(ctx, project, ['run', 'bench', '--json'], options);
  const report = (JSON.parse(measured.stdout) as RunFigures['report'][])[0];
  const events = measured.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; time: string; batch_size?: number; concurrency?: number; workers?: number });
  const startedEvent = events.find((e) => e.msg === 'run_started');
  const finishedEvent = events.find((e) => e.msg === 'run_finished');
  if (!startedEvent || !finishedEvent) throw new Error(`run log lacks run_started/run_finished: ${measured.stderr.slice(-1000)}`);
  return {
    measured,
    report,
    sendMs: Date.parse(finishedEvent.time) - Date.parse(startedEvent.time),
    batchSize: startedEvent.batch_size ?? 0,
    concurrency: startedEvent.concurrency ?? 0,
    workers: startedEvent.workers ?? 0,
  };
}

/** A project over a warehouse of `rows` rows with a snapshot seeded to differ by `diff`. */
export async function seededProject(
  ctx: BenchContext,
  name: string,
  options: ProjectOptions,
  diff: Diff,
  env: Record<string, string> = {},
  seed: SeedOptions = {},
): Promise<BenchProject> {
  const warehouse = await ensureWarehouse(join(ctx.work, 'data'), options.shape, options.rows);
  const project = await createProject(join(ctx.work, name), warehouse, options);
  ctx.log(`  seeding ${name}`);
  await seedSnapshot(project, diff, { ...ctx.env, ...env }, seed);
  return project;
}

/** What a baseline writer (`raw-writer.ts`, `naive-jsforce.ts`) prints. */
export interface WriterFigures {
  ms: number;
  rows: number;
  calls: number;
}

/** The write-throughput workloads: every row changed, at 0 ms and at 50 ms per call. */
export function writeCases(ctx: BenchContext): Array<{ latencyMs: number; rows: number }> {
  return [
    { latencyMs: 0, rows: ctx.full ? 1_000_000 : 100_000 },
    // At 50 ms a call the one-call-at-a-time baselines need 250 s per million rows: fewer rows, same steady state.
    { latencyMs: 50, rows: ctx.full ? 100_000 : 20_000 },
  ];
}

/** Headers of a write-throughput table whose second baseline is called `baseline`. */
export const throughputHeaders = (baseline: string) => [
  'latency',
  'rows',
  'batch × in flight',
  'engine rows/s',
  'whole run rows/s',
  'raw rows/s',
  'engine / raw',
  `${baseline} rows/s`,
  `engine / ${baseline}`,
  'engine peak RSS',
];

/** One row of a write-throughput table: medians of the engine's send phase against both baselines. */
export function throughputRow(latencyMs: number, rows: number, engine: RunFigures[], raw: WriterFigures[], baseline: WriterFigures[]) {
  const engineRate = median(engine.map((r) => perSecond(rows, r.sendMs)));
  const rawRate = median(raw.map((r) => perSecond(r.rows, r.ms)));
  const baselineRate = median(baseline.map((r) => perSecond(r.rows, r.ms)));
  return [
    `${latencyMs} ms`,
    rowsLabel(rows),
    `${engine[0].batchSize} × ${engine[0].concurrency} (${engine[0].workers} threads)`,
    thousands(engineRate),
    thousands(median(engine.map((r) => perSecond(rows, r.measured.wallMs)))),
    thousands(rawRate),
    `${Math.round((100 * engineRate) / rawRate)}%`,
    thousands(baselineRate),
    ratio(engineRate, baselineRate),
    mib(peakRss(engine.map((r) => r.measured))),
  ];
}
