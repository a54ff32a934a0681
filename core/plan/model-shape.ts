/**
 * Whether a DuckDB model is a plain read of base tables: only table scans, filters, projections and
 * UNION ALL, as DuckDB's own planner sees it (`EXPLAIN (FORMAT JSON)`; views are expanded there).
 * Reading such a model again costs one scan (0.2 s for 10M rows × 10 columns), so the planner diffs
 * it on key and hash alone and reads back only the changed rows' columns (planner.ts). Anything else
 * (joins, aggregates, windows, sorts, limits, table functions such as read_csv) may cost more than
 * the diff, or give other rows when read again: it is read once, its columns carried through the diff.
 */
import { sql, type Kysely } from 'kysely';
import { MODEL_VIEW } from '../db/warehouse.js';

/**
 * The operators of a plain read (EMPTY_RESULT: DuckDB proved from statistics that there are no rows).
 * A scan counts only when it reads a table (`Table` is set) and says nothing but the keys below: a
 * sample (`Sample Method`) gives other rows each read, and a key this list does not know is read once.
 */
const PLAIN = new Set(['PROJECTION', 'FILTER', 'UNION', 'SEQ_SCAN', 'EMPTY_RESULT']);
const SCAN_KEYS = new Set(['Table', 'Type', 'Projections', 'Filters', 'Estimated Cardinality']);

interface PlanNode {
  name?: unknown;
  children?: unknown;
  extra_info?: Record<string, unknown>;
}

/** `plan`: the parsed output of DuckDB's `EXPLAIN (FORMAT JSON)`, an array of root nodes. */
export function isPlainRead(plan: unknown): boolean {
  const plain = (node: PlanNode): boolean => {
    const name = typeof node?.name === 'string' ? node.name.trim() : '';
    if (!PLAIN.has(name)) return false;
    if (name === 'SEQ_SCAN') {
      const info = node.extra_info ?? {};
      if (typeof info.Table !== 'string' || !Object.keys(info).every((key) => SCAN_KEYS.has(key))) return false;
    }
    return Array.isArray(node.children) && node.children.every(plain);
  };
  return Array.isArray(plan) && plan.length > 0 && plan.every(plain);
}

/** DuckDB, the model view defined: is the model a plain read? False when DuckDB cannot explain it. */
export async function modelIsPlainRead(db: Kysely<any>): Promise<boolean> {
  const rows = (await sql.raw<{ explain_value: string }>(`explain (format json) select * from ${MODEL_VIEW}`).execute(db)).rows;
  try {
    return isPlainRead(JSON.parse(String(rows[0]?.explain_value)));
  } catch {
    return false;
  }
}

/**
 * PostgreSQL's node types of a plain read: table and index scans (a parallel one under `Gather`),
 * `Append` (UNION ALL), `Result` and `Subquery Scan` (projections). A `Sample Scan` gives other rows
 * each read; joins, aggregates, sorts, limits, functions and foreign tables may cost more than the diff.
 */
const POSTGRES_PLAIN = new Set([
  'Seq Scan',
  'Index Scan',
  'Index Only Scan',
  'Bitmap Heap Scan',
  'Bitmap Index Scan',
  'BitmapAnd',
  'BitmapOr',
  'Append',
  'Result',
  'Subquery Scan',
  'Gather',
]);

interface PostgresPlanNode {
  'Node Type'?: unknown;
  Plans?: unknown;
}

/** `plan`: the parsed output of PostgreSQL's `EXPLAIN (FORMAT JSON)`, `[{ Plan: … }]`. */
export function isPlainPostgresRead(plan: unknown): boolean {
  const plain = (node: PostgresPlanNode): boolean =>
    typeof node?.['Node Type'] === 'string' &&
    POSTGRES_PLAIN.has(node['Node Type']) &&
    (node.Plans === undefined || (Array.isArray(node.Plans) && node.Plans.every(plain)));
  return Array.isArray(plan) && plan.length === 1 && plain((plan[0] as { Plan?: PostgresPlanNode })?.Plan as PostgresPlanNode);
}
