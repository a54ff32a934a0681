/**
 * Self-healing of a run after `schema_drift` (README "Self-healing"): the rows a drift failed are held
 * back (not committed), no further batch leaves until the destination's schema is looked at again
 * (`connector.heal`), mapped fields found deleted are left out of the payloads from then on, fields
 * whose type or length changed are coerced to the new describe, and the held rows are sent again with
 * the healed target (rows whose values do not fit the new type then fail alone, `rejected`).
 *
 * Healing runs once per failure: a row that fails with `schema_drift` again after it was re-sent is a
 * permission change, which no heal can fix. The healer then reports it and the executor stops the run;
 * those rows are committed as failed and stay in the failed-row index.
 */
import type { DestinationConnector, Failure, WriteTarget } from '../../connectors/destination.js';
import type { DeliveredRow } from '../state/commit-batch.js';
import type { PlannedRow } from '../state/plan-table.js';

export interface HealNotice {
  /** Mapped fields the destination no longer shows: dropped from the payloads for the rest of the run. */
  deleted: string[];
  /** The failure that caused the heal. */
  failure: Failure;
  apiCalls: number;
}

export class SchemaHealer {
  /** Heals so far; each batch remembers the one it was sent under. */
  generation = 0;
  /** Set when rows failed with schema drift again after a heal: the run must stop. */
  permission: Failure | null = null;
  /** Set when looking at the schema again failed: the run must stop. */
  error: Failure | null = null;
  private healing: Promise<void> | null = null;
  private held: PlannedRow[] = [];
  private readonly resent = new Set<string>();

  constructor(
    private target: WriteTarget,
    private readonly connector: DestinationConnector,
    private readonly onHeal: (notice: HealNotice) => Promise<void>,
    /** At most one heal per mapped field and one more: each heal answers a distinct failure. */
    private readonly maxHeals = target.sync.fields.length + 1,
  ) {}

  /** The target batches are sent with now. */
  get current(): WriteTarget {
    return this.target;
  }

  get enabled(): boolean {
    return this.connector.heal !== undefined;
  }

  /**
   * Sorts a batch's outcome: rows a drift failed for the first time are held back for a re-send (and
   * start a heal, if the batch went out under the current target); rows failing again after a re-send
   * mark a permission change and are committed as failed. Returns what is committed now.
   */
  sort(planned: PlannedRow[], delivered: DeliveredRow[], sentGeneration: number): { planned: PlannedRow[]; delivered: DeliveredRow[] } {
    if (!this.enabled) return { planned, delivered };
    const byKey = new Map(planned.map((p) => [p.pk, p]));
    const heldKeys = new Set<string>();
    let cause: Failure | null = null;
    for (const row of delivered) {
      if (row.status !== 'failed' || row.failure.errorClass !== 'schema_drift') continue;
      if (this.resent.has(row.key) || this.generation >= this.maxHeals) {
        this.permission ??= permissionChange(row.failure);
        continue;
      }
      heldKeys.add(row.key);
      this.held.push(byKey.get(row.key)!);
      // A batch sent before the last heal failed for what that heal already answered.
      if (sentGeneration === this.generation) cause ??= row.failure;
    }
    // Started after the assignment: a connector whose heal throws at once would otherwise clear
    // `healing` before it is set, and `settled()` would wait for ever.
    if (cause && !this.healing) this.healing = Promise.resolve().then(() => this.heal(cause));
    if (heldKeys.size === 0) return { planned, delivered };
    return { planned: planned.filter((p) => !heldKeys.has(p.pk)), delivered: delivered.filter((d) => !heldKeys.has(d.key)) };
  }

  /** A heal is running. */
  get busy(): boolean {
    return this.healing !== null;
  }

  /** Resolves once no heal is running. */
  async settled(): Promise<void> {
    while (this.healing) await this.healing;
  }

  /** Rows held back, to send again under the healed target; each is re-sent once. */
  takeHeld(): PlannedRow[] {
    const rows = this.held;
    this.held = [];
    for (const row of rows) this.resent.add(row.pk);
    return rows;
  }

  get holding(): number {
    return this.held.length;
  }

  private async heal(failure: Failure): Promise<void> {
    try {
      const { deleted, apiCalls, schema } = await this.connector.heal!(this.target);
      this.generation++;
      const omitted = [...new Set([...(this.target.sync.omitFields ?? []), ...deleted])];
      // A new describe: fields whose type or length changed are coerced to the new one from now on.
      const sync = { ...this.target.sync, omitFields: omitted, healGeneration: this.generation, ...(schema && { schema }) };
      this.target = { ...this.target, sync };
      await this.onHeal({ deleted, failure, apiCalls });
    } catch (error) {
      const cause = (error as { failure?: Failure }).failure;
      this.error = cause ?? { errorClass: 'fatal', code: 'HEAL_FAILED', message: (error as Error)?.message ?? String(error) };
    } finally {
      this.healing = null;
    }
  }
}

/** The failure that stops the run: the same rows failed again after the heal. */
function permissionChange(failure: Failure): Failure {
  const fields = failure.fields ?? [];
  const named = fields.length > 0 ? `field ${fields.join(', ')}` : 'a mapped field';
  return {
    ...failure,
    message: `writes to ${named} failed again after self-healing (a permission change): ${failure.message}`,
    remediation: `Grant the integration user edit access to ${named} (or unmap it), then resume the sync.`,
  };
}
