/**
 * Benchmark 3b: write throughput to the Salesforce emulator over sObject Collections, against the raw
 * limit (the same PATCH bodies, pre-built, same calls in flight) and the naive jsforce loop.
 */
import { salesforceEnv } from '../test/support/salesforce/fixture.js';
import { BENCH_SF_TOKEN } from './lib/dataset.js';
import { startSink } from './lib/sink-process.js';
import { table } from './lib/report.js';
import {
  measureRun,
  seededProject,
  throughputHeaders,
  throughputRow,
  writeCases,
  type Benchmark,
  type RunFigures,
  type WriterFigures,
} from './lib/harness.js';

export const salesforceWrites: Benchmark = {
  id: 'salesforce',
  title: 'write throughput to the Salesforce emulator',
  async run(ctx) {
    const emulator = await startSink('salesforce-emulator.js', ['narrow']);
    const env = salesforceEnv(emulator.url, { accessToken: BENCH_SF_TOKEN }, 'BENCH_SF');
    const body: Array<Array<string | number>> = [];
    try {
      for (const c of writeCases(ctx)) {
        const project = await seededProject(
          ctx,
          `salesforce-${c.rows}`,
          // sObject Collections, as the section says: by default a run of 10,000 rows or more goes by Bulk API 2.0
          // jobs (section 3c), which until 2026-11-27 this section measured without saying so.
          { shape: 'narrow', rows: c.rows, target: 'salesforce', api: 'rest' },
          { changedEvery: 1 },
          env,
        );
        const writer = async (script: string, args: string[]): Promise<WriterFigures> => {
          const measured = await ctx.measure(ctx.script(script), args, { env });
          if (measured.code !== 0) throw new Error(`${script} failed: ${measured.stderr.slice(-2000)}`);
          return JSON.parse(measured.stdout) as WriterFigures;
        };
        const engine: RunFigures[] = [];
        const raw: WriterFigures[] = [];
        const naive: WriterFigures[] = [];
        for (let i = 0; i < ctx.runs; i++) {
          ctx.log(`  ${c.latencyMs} ms latency, run ${i + 1}/${ctx.runs}`);
          await emulator.configure({ latencyMs: c.latencyMs });
          const run = await measureRun(ctx, project, { env });
          if (run.report.succeeded !== c.rows) throw new Error(`engine synced ${run.report.succeeded} of ${c.rows} rows`);
          engine.push(run);
          const args = [project.warehousePath, 'narrow', env.BENCH_SF_URL, String(c.rows)];
          raw.push(await writer('raw-writer', [...args, String(run.batchSize), String(run.concurrency), 'salesforce']));
          naive.push(await writer('naive-jsforce', args));
        }
        body.push(throughputRow(c.latencyMs, c.rows, engine, raw, naive));
      }
    } finally {
      await emulator.stop();
    }
    return {
      title: '3b. Write throughput: Salesforce (sObject Collections)',
      lines: [
        'Every model row changed, upserted by External ID into the Salesforce emulator (a separate process) through ' +
          'jsforce with default settings but `api: rest` (by default a run of 10,000 rows or more would use Bulk API 2.0 jobs, ' +
          'section 3c; until 2026-11-27 this section measured those without saying so). **engine** rows/s is over the send phase of `hightouch-like run`; **raw** PATCHes ' +
          'the same collection bodies, built before its clock starts, with the same number of calls in flight; **naive** ' +
          'is `bench/naive-jsforce.ts`, the loop a user would write: `conn.sobject(T).upsert(200 records)` one call after ' +
          'the other.',
        '',
        ...table(throughputHeaders('naive'), body),
        '',
        'Targets (issue 14): engine ≥ 50% of raw at 0 ms; engine ≥ 5 × naive at 50 ms.',
      ],
    };
  },
};
