/**
 * Benchmark 3c: a large change set to the Salesforce emulator through sObject Collections (`api:
 * rest`, 200 rows a call) against Bulk API 2.0 (`api: bulk`, 100,000 rows a job): API calls spent
 * and rows/s over the send phase. Quick: 100,000 rows; `--full`: 1,000,000.
 */
import { salesforceEnv } from '../test/support/salesforce/fixture.js';
import { BENCH_SF_TOKEN } from './lib/dataset.js';
import { measureRun, seededProject, type Benchmark, type RunFigures } from './lib/harness.js';
import { table } from './lib/report.js';
import { startSink } from './lib/sink-process.js';

export const salesforceBulk: Benchmark = {
  id: 'salesforce-bulk',
  title: 'Salesforce: Bulk API 2.0 against sObject Collections',
  async run(ctx) {
    const rows = ctx.full ? 1_000_000 : 100_000;
    const emulator = await startSink('salesforce-emulator.js', ['narrow']);
    const env = salesforceEnv(emulator.url, { accessToken: BENCH_SF_TOKEN }, 'BENCH_SF');
    const body: Array<Array<string | number>> = [];
    try {
      for (const api of ['rest', 'bulk'] as const) {
        const project = await seededProject(
          ctx,
          `salesforce-${api}-${rows}`,
          { shape: 'narrow', rows, target: 'salesforce', api },
          { changedEvery: 1 },
          env,
        );
        const runs: RunFigures[] = [];
        for (let i = 0; i < ctx.runs; i++) {
          ctx.log(`  api: ${api}, run ${i + 1}/${ctx.runs}`);
          await emulator.configure({ latencyMs: 0 });
          const run = await measureRun(ctx, project, { env });
          if (run.report.succeeded !== rows) throw new Error(`api ${api} synced ${run.report.succeeded} of ${rows} rows`);
          runs.push(run);
        }
        const best = runs.reduce((a, b) => (a.sendMs <= b.sendMs ? a : b));
        body.push([
          api,
          rows.toLocaleString('en-US'),
          best.report.api_calls,
          Math.round(rows / (best.sendMs / 1000)),
          (best.sendMs / 1000).toFixed(1),
        ]);
      }
    } finally {
      await emulator.stop();
    }
    return {
      title: '3c. Salesforce: Bulk API 2.0 against sObject Collections',
      lines: [
        `Every one of ${rows.toLocaleString('en-US')} rows changed, upserted by External ID into the Salesforce emulator (a separate ` +
          'process; typed fields: int, currency, boolean, datetime, email, so every value is coerced to its type), once with `api: rest` (sObject Collections, 200 rows a call, default concurrency) and once with `api: bulk` ' +
          '(Bulk API 2.0 jobs of 100,000 rows, two in flight, `bulk_poll_ms: 250`). API calls are those the run reports ' +
          '(`sync_runs.api_calls`); rows/s is over the send phase, best of the runs. The emulator processes a job as it is ' +
          'polled, so the Bulk figure is the client side only: a real org queues a job for seconds to minutes.',
        '',
        ...table(['api', 'rows', 'API calls', 'rows/s', 'send s'], body),
      ],
    };
  },
};
