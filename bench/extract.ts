/**
 * Benchmark 7: an extract of 100,000 Contacts from the Salesforce emulator (a process of its own) into
 * DuckDB, through REST query/queryMore and through a Bulk API 2.0 query job, against a raw jsforce
 * query/queryMore loop over the same emulator that only counts the records. The extract's figure is
 * the whole CLI process (start-up, describe, count, landing every page in DuckDB, the state commits).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_SF_TOKEN } from './lib/dataset.js';
import type { Benchmark } from './lib/harness.js';
import type { Measured } from './lib/proc.js';
import { table } from './lib/report.js';
import { startSink } from './lib/sink-process.js';

export const extract: Benchmark = {
  id: 'extract',
  title: 'Extract: Salesforce into DuckDB against a raw jsforce query loop',
  async run(ctx) {
    const rows = ctx.full ? 1_000_000 : 100_000;
    const emulator = await startSink('extract-emulator.js', [String(rows)]);
    const url = emulator.url.replace(/\/$/, '');
    const env = { BENCH_SF_URL: url, BENCH_SF_TOKEN };
    const body: Array<Array<string | number>> = [];
    const best = (runs: Measured[]) => runs.reduce((a, b) => (a.wallMs <= b.wallMs ? a : b));
    try {
      const raw: Measured[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`  raw jsforce loop, run ${i + 1}/${ctx.runs}`);
        const run = await ctx.measure(ctx.script('raw-jsforce-query'), [url], { env });
        if (run.code !== 0) throw new Error(`raw-jsforce-query failed: ${run.stderr}`);
        raw.push(run);
      }
      const rawBest = best(raw);
      const rawFigures = JSON.parse(rawBest.stdout) as { ms: number; rows: number; calls: number };
      body.push([
        'raw jsforce query/queryMore (counts only)',
        rawFigures.rows,
        rawFigures.calls,
        Math.round(rawFigures.rows / (rawBest.wallMs / 1000)),
        (rawBest.wallMs / 1000).toFixed(1),
        '1.00',
      ]);

      for (const api of ['rest', 'bulk'] as const) {
        const dir = join(ctx.work, `extract-${api}-${rows}`);
        const runs: Measured[] = [];
        let report: { rows_read: number; api_calls: number; status: string } | undefined;
        for (let i = 0; i < ctx.runs; i++) {
          ctx.log(`  extract api: ${api}, run ${i + 1}/${ctx.runs}`);
          await rm(dir, { recursive: true, force: true });
          await mkdir(join(dir, 'extracts'), { recursive: true });
          await writeFile(
            join(dir, 'hightouch-like.config.yaml'),
            'sources:\n  crm: { type: salesforce, instance_url: "${BENCH_SF_URL}", access_token: "${BENCH_SF_TOKEN}", bulk_poll_ms: 250 }\n',
          );
          await writeFile(
            join(dir, 'extracts/contacts.yaml'),
            `source: crm\nobject: Contact\nfields: [LastName, FirstName, Email, Phone]\ntable: contacts\napi: ${api}\n`,
          );
          const run = await ctx.measure(ctx.cli, ['--project', dir, 'extract', 'contacts', '--json'], { env, cwd: dir });
          if (run.code !== 0) throw new Error(`extract (${api}) failed: ${run.stderr.slice(-500)}`);
          [report] = JSON.parse(run.stdout) as Array<{ rows_read: number; api_calls: number; status: string }>;
          if (report.rows_read !== rows) throw new Error(`extract (${api}) read ${report.rows_read} of ${rows}`);
          runs.push(run);
        }
        const b = best(runs);
        body.push([
          `extract, api: ${api}`,
          report!.rows_read,
          report!.api_calls,
          Math.round(rows / (b.wallMs / 1000)),
          (b.wallMs / 1000).toFixed(1),
          (rawBest.wallMs / b.wallMs).toFixed(2),
        ]);
      }
    } finally {
      await emulator.stop();
    }
    return {
      title: '8. Extract: Salesforce into DuckDB against a raw jsforce query loop',
      lines: [
        `${rows.toLocaleString('en-US')} Contacts (Id, SystemModstamp and 4 text fields) read from the Salesforce emulator, a process ` +
          'of its own. The raw loop is jsforce `query` then `queryMore` until done, counting the records and storing nothing. ' +
          'The extract is the CLI (`extract contacts`, a first full load) landing every record in a DuckDB table, upserted on Id, ' +
          'with the cursor committed after each page; `api: bulk` reads one Bulk API 2.0 query job in CSV pages of 50,000 ' +
          '(`bulk_poll_ms: 250`). Wall time of the whole process, start-up included; best of the runs; the ratio is raw time ' +
          'over extract time (above 1: faster than the loop).',
        '',
        ...table(['reader', 'records', 'API calls', 'records/s', 'wall s', 'vs raw'], body),
      ],
    };
  },
};
