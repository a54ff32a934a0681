/**
 * The DuckDB state store's memory cap by phase (core/state/memory-cap.ts), read from the run's own
 * DuckDB instance (one per file per process, duckdb-instances.ts): the send cap while the receiver
 * holds a batch, the plan cap again once the run has folded its snapshot. Real DuckDB files, a real
 * HTTP receiver on loopback, the run in this process through the API.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunController, loadProject } from '../core/api.js';
import { leaseDuckDBInstance, type InstanceLease } from '../core/db/duckdb-instances.js';
import { startHttpSink, type HttpSink } from './support/http-sink.js';
import { createProject, type TestProject } from './support/project.js';

let project: TestProject | undefined;
let sink: HttpSink | undefined;
let controller: RunController | undefined;
let lease: InstanceLease | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
  lease?.release();
  lease = undefined;
  await sink?.close();
  sink = undefined;
  await project?.remove();
  project = undefined;
});

async function memoryLimit(held: InstanceLease): Promise<string> {
  const connection = await held.instance.connect();
  try {
    return String((await connection.runAndReadAll(`select current_setting('memory_limit')`)).getRows()[0][0]);
  } finally {
    connection.closeSync();
  }
}

/** A project syncing `rows` users to the sink's `api` destination in batches of `batchSize`. */
async function usersToApi(batchSize: number, rows: number): Promise<TestProject> {
  const made = await createProject({
    'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  api: { type: http, url: "\${SINK_URL}" }
`,
    'models/users.sql': 'select * from users',
    'syncs/to_api.yaml': `model: users\ndestination: api\nprimary_key: id\nmapping: { email: email }\nbatch_size: ${batchSize}\n`,
  });
  await made.warehouse(`create table users as select range as id, 'u' || range || '@x.io' as email from range(${rows})`);
  return made;
}

/**
 * Runs 50 users to `api` in batches of 10 while this test holds a lease on the state's DuckDB instance,
 * so the instance (and its settings) outlives the run's own lease.
 */
async function runHoldingTheInstance(api: HttpSink) {
  const config = await holdTheInstance(await usersToApi(10, 50), api);
  controller = new RunController();
  return controller.run(config, { syncs: ['to_api'] });
}

/** Loads `made` against `api` and takes a lease on its state's DuckDB instance (`lease`). */
async function holdTheInstance(made: TestProject, api: HttpSink) {
  project = made;
  const config = await loadProject(project.dir, { SINK_URL: api.url });
  if (config.state.type !== 'duckdb') throw new Error('expected DuckDB state');
  await mkdir(dirname(config.state.path), { recursive: true });
  lease = await leaseDuckDBInstance(config.state.path, false);
  return config;
}

describe('the DuckDB state store memory cap', { timeout: 60_000 }, () => {
  it('is the send cap while batches go out and the plan cap again after the fold', async () => {
    const during: string[] = [];
    let asked = false;
    sink = await startHttpSink({
      // Batches are answered concurrently: only the first asks, and it says so before it awaits.
      beforeAnswer: async () => {
        if (!lease || asked) return;
        asked = true;
        during.push(await memoryLimit(lease));
      },
    });
    const result = await runHoldingTheInstance(sink);
    expect(result.status).toBe('succeeded');
    // DuckDB shows 256MB and 640MB in MiB.
    expect(during).toEqual(['244.1 MiB']);
    expect(await memoryLimit(lease)).toBe('610.3 MiB');
  });

  it('is the plan cap again after a run whose commit failed', async () => {
    // An id with a lone surrogate cannot be stored as given: the commit fails, and the run with it.
    sink = await startHttpSink({ idFor: (key) => `id-${key}\ud800` });
    const result = await runHoldingTheInstance(sink);
    expect(result.status).toBe('failed');
    expect(result.reports[0].error).toMatch(/^the state store refused a commit: /);
    expect(await memoryLimit(lease)).toBe('610.3 MiB');
  });

  it("sorts a read-back plan's rows under the diff cap, not the plan cap", async () => {
    sink = await startHttpSink();
    const config = await holdTheInstance(await usersToApi(2000, 100_000), sink);
    const held = lease!;
    // The plan's tail alone sorts (its window and order by hold every row to send with its payload):
    // the cap is read from a second connection whenever DuckDB holds sort memory.
    const connection = await held.instance.connect();
    const capsWhileSorting = new Set<string>();
    let planning = true;
    const watch = (async () => {
      while (planning) {
        const [cap, sorting] = (
          await connection.runAndReadAll(
            `select current_setting('memory_limit'), (select sum(memory_usage_bytes) from duckdb_memory() where tag = 'ORDER_BY')`,
          )
        ).getRows()[0];
        if (Number(sorting) > 1 << 20) capsWhileSorting.add(String(cap));
      }
    })();
    controller = new RunController();
    const handle = controller.start(config, {
      syncs: ['to_api'],
      onEvent: (event) => {
        if (event.type === 'run_started') planning = false;
      },
    });
    const result = await handle.result.finally(() => {
      planning = false;
    });
    await watch;
    connection.closeSync();
    expect(result.status).toBe('succeeded');
    // DuckDB shows 400MB in MiB.
    expect([...capsWhileSorting]).toEqual(['381.4 MiB']);
  });

  it('plans again under the plan cap when the sort of the rows to send outgrows the diff cap', async () => {
    const columns = Array.from({ length: 60 }, (_, i) => `'some text value ' || range || ' of column ${i}' as c${i}`);
    const mapping = Array.from({ length: 60 }, (_, i) => `c${i}: c${i}`);
    project = await createProject({
      'hightouch-like.config.yaml': `
warehouse: { type: duckdb, path: warehouse.duckdb }
destinations:
  out: { type: file, path: out, format: jsonl }
`,
      'models/wide.sql': 'select * from wide',
      'syncs/to_out.yaml': `model: wide\ndestination: out\nprimary_key: id\nmapping: { ${mapping.join(', ')} }\n`,
    });
    await project.warehouse(`create table wide as select range as id, ${columns.join(', ')} from range(100000)`);
    // About 250 MB of payload: the diff and read-back fit 192MB, the tail's sort does not (measured:
    // out of memory at 183.0 of 183.1 MiB), as 200k rows of 2.5 kB did not fit the default 400MB.
    const plan = await project.cli(['plan', 'to_out', '--json'], { HIGHTOUCH_LIKE_DUCKDB_DIFF_MEMORY_LIMIT: '192MB' });
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)[0]).toMatchObject({ added: 100_000, planned: 100_000 });
  });

  it('folds a small snapshot under the fold cap, and again under the plan cap when that runs out', async () => {
    sink = await startHttpSink();
    project = await usersToApi(500, 20_000);
    // 4MB cannot hold the fold of 20,000 rows (measured: out of memory at 3.7 of 3.8 MiB), so it is
    // rolled back and done again under the plan cap.
    const env = { SINK_URL: sink.url, HIGHTOUCH_LIKE_DUCKDB_FOLD_MEMORY_LIMIT: '4MB' };
    const run = await project.cli(['run', 'to_api', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const query = async (text: string) => JSON.parse((await project!.cli(['query', text, '--json'], env)).stdout);
    expect(await query('select count(*)::int as n from sync_snapshots')).toEqual([{ n: 20_000 }]);
    expect(await query('select count(*)::int as n from sync_snapshot_log')).toEqual([{ n: 0 }]);
    // Nothing changed: the next run sends nothing.
    const again = await project.cli(['run', 'to_api', '--json'], env);
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ status: 'succeeded', sent: 0 });
  });
});
