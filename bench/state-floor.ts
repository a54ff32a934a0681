/**
 * The state floor of a write run: the state store work the engine does for every row it sends, with
 * no destination and no write threads. It plans the bench sync as `run` does, then pages the plan,
 * marks each page pending, commits every row as acknowledged in groups of `groupRows`, and settles the
 * snapshot log, calling the engine's own functions (core/state) in the executor's order, on one
 * connection. A write run at 0 ms latency cannot send faster than this, whatever its threads do.
 *
 *   node dist/bench/state-floor.js <project dir> <group rows>
 *
 * Prints {"rows", "ms", "pagesMs", "marksMs", "commitsMs", "commits", "settleMs"}; the clock starts after the plan.
 */
import { performance } from 'node:perf_hooks';
import { loadProject } from '../core/config/load-project.js';
import { buildPlan } from '../core/plan/planner.js';
import { commitBatches, type BatchOutcome } from '../core/state/commit-batch.js';
import { capDuckDBMemory } from '../core/state/memory-cap.js';
import { markPending, notePendingBefore, readPlanPage, type PlannedRow } from '../core/state/plan-table.js';
import { openRun } from '../core/state/run-log.js';
import { settleSnapshotLog } from '../core/state/snapshot-log.js';
import { openStateStore } from '../core/state/state-store.js';

const [dir, groupText] = process.argv.slice(2);
const groupRows = Number(groupText);
const project = await loadProject(dir);
const sync = project.syncs.bench;
const store = await openStateStore(project);
const now = () => new Date();
const plan = await buildPlan(store, project, sync, { fullResync: false, now: now(), holdRetries: false });
const runId = `floor-${Date.now()}`;
await openRun(store.db, runId, sync.name, plan.counts, false, now());
const commitPolicy = { policy: sync.failed_rows, mappingHash: plan.mappingHash, now };
const planned = plan.counts.planned;
// The executor's page size with the HTTP destination's defaults (batch 100, concurrency 4).
const pageSize = 10_000;

const parts = { pagesMs: 0, marksMs: 0, commitsMs: 0, commits: 0, settleMs: 0 };
const timed = async <T>(part: 'pagesMs' | 'marksMs' | 'commitsMs' | 'settleMs', work: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    return await work();
  } finally {
    parts[part] += performance.now() - started;
  }
};
let group: PlannedRow[] = [];
const commit = async () => {
  if (group.length === 0) return;
  // Every row acknowledged with the plan's hash ("plain"), one call per 100 rows, as a 0 ms run's commits hold.
  const outcome: BatchOutcome = { op: group[0].op, planned: group, delivered: [], plain: group, apiCalls: Math.ceil(group.length / 100) };
  await timed('commitsMs', () => commitBatches(store, runId, sync.name, [outcome], (t) => t, commitPolicy));
  parts.commits++;
  group = [];
};

const started = performance.now();
await capDuckDBMemory(store, 'send');
await notePendingBefore(store, sync.name);
for (let after = 0; after < planned; after += pageSize) {
  const page = await timed('pagesMs', () => readPlanPage(store, after, pageSize));
  await timed('marksMs', () => markPending(store, sync.name, runId, after, pageSize));
  for (const row of page) {
    if (group.length > 0 && row.op !== group[0].op) await commit();
    group.push(row);
    if (group.length >= groupRows) await commit();
  }
}
await commit();
await capDuckDBMemory(store, 'plan');
await timed('settleMs', () => settleSnapshotLog(store, sync.name));
const ms = performance.now() - started;
await store.close();
process.stdout.write(`${JSON.stringify({ rows: planned, ms, ...parts })}\n`);
