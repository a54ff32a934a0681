/**
 * `npm run bench` (quick sizes) or `npm run bench -- --full`: measures the engine against baselines run
 * in the same session on the same data, and writes bench/RESULTS.md.
 *
 *   --full            the large sizes (10M-row plans, 1M-row writes)
 *   --only a,b        run only these benchmarks: plan, pg-plan, incremental, writes, salesforce, salesforce-bulk, pg-writes, workers, retry, dashboard, extract
 *   --runs N          repetitions per measurement (default 3; medians are reported)
 *   --plan-rows a,b   the plan benchmark at these sizes only (e.g. 100000000 for the 100M-row point)
 *   --out FILE        where to write the results (default bench/RESULTS.md)
 *
 * Every measured program is a process of its own (the CLI, the raw baselines, the sink), timed and
 * RSS-sampled from outside, so figures include start-up exactly as a user would pay it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureNode, rssSource, type Measured } from './lib/proc.js';
import type { BenchContext, Section } from './lib/harness.js';
import { benchmarks } from './suite.js';
import { startSink } from './lib/sink-process.js';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'plan-rows': { type: 'string' },
    out: { type: 'string' },
  },
});

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dist = join(root, 'dist');
const work = join(root, 'bench/.work');
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;
const runs = Math.max(1, Number(values.runs));
// A partial run must not overwrite the full results.
const out = values.out
  ? resolve(values.out)
  : only
    ? join(root, `bench/.work/RESULTS-${[...only].join('-')}.md`)
    : join(root, 'bench/RESULTS.md');

await mkdir(work, { recursive: true });
const sink = await startSink();
const ctx: BenchContext = {
  full: values.full,
  runs,
  planRows: values['plan-rows'] ? values['plan-rows'].split(',').map((n) => Number(n.trim())) : null,
  root,
  work,
  sink,
  env: { BENCH_SINK_URL: sink.url },
  cli: join(root, 'bin/hightouch-like.js'),
  script: (name: string) => join(dist, 'bench', `${name}.js`),
  measure: (script: string, args: string[], options = {}): Promise<Measured> =>
    measureNode(script, args, { timeoutMs: 30 * 60_000, ...options }),
  log: (text: string) => process.stderr.write(`[bench] ${text}\n`),
};

const started = Date.now();
const sections: Section[] = [];
try {
  for (const bench of benchmarks) {
    if (only && !only.has(bench.id)) continue;
    ctx.log(`${bench.id}: ${bench.title}`);
    sections.push(await bench.run(ctx));
  }
} finally {
  await sink.stop();
}

const cpu = cpus();
const header = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench${values.full ? ' -- --full' : ''}\` on ${new Date().toISOString().slice(0, 10)}; ` +
    `${runs} run(s) per figure, medians reported; the whole bench took ${Math.round((Date.now() - started) / 1000)} s.`,
  '',
  `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; ` +
    `Node ${process.version} on ${process.platform}/${process.arch}. Peak RSS from ${rssSource}, for the measured process ` +
    '(main thread, workers and DuckDB together).',
  '',
  'Ratios compare two programs measured in the same session on the same data. Every program runs in a process of its ' +
    'own; the HTTP sink and the Salesforce emulator run in a third process so the bench measures the engine, not the receiver.',
  '',
];
// The hand-written reading of the figures follows this marker; a new run keeps it (and it must be re-read).
const READING = '<!-- reading: written by hand, kept by npm run bench -->';
const previous = await readFile(out, 'utf8').catch(() => '');
const reading = previous.includes(READING) ? previous.slice(previous.indexOf(READING)) : '';
await writeFile(out, [...header, ...sections.flatMap((s) => [`## ${s.title}`, '', ...s.lines, '']), reading].join('\n'));
ctx.log(`wrote ${out}`);
