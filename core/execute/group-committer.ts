/**
 * Serialises commits and folds batches that finish during a commit into the next one. After a failed
 * commit every batch added, or still queued, is refused with that error: none may be acknowledged.
 */
import type { BatchOutcome } from '../state/commit-batch.js';

export class GroupCommitter {
  private pending: Array<{ outcome: BatchOutcome; resolve: () => void; reject: (error: unknown) => void }> = [];
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  private onFailure: () => void = () => {};
  /** Resolves when a commit has failed. */
  readonly failed = new Promise<void>((resolve) => (this.onFailure = resolve));
  error: unknown = null;

  constructor(private readonly commit: (outcomes: BatchOutcome[]) => Promise<void>) {}

  /** Resolves once the outcome is committed; rejects if it cannot be. */
  add(outcome: BatchOutcome): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    const committed = new Promise<void>((resolve, reject) => this.pending.push({ outcome, resolve, reject }));
    // `draining` is set before drain() starts and cleared by it with no await after its last look at
    // `pending`, so an outcome is never left queued with no drain to take it.
    if (!this.draining) {
      this.draining = true;
      this.idle = this.drain();
    }
    return committed;
  }

  private async drain() {
    try {
      while (this.pending.length) {
        const take = this.pending.splice(0);
        if (this.error) {
          take.forEach((t) => t.reject(this.error));
          continue;
        }
        try {
          await this.commit(take.map((t) => t.outcome));
          take.forEach((t) => t.resolve());
        } catch (error) {
          this.error = error;
          this.onFailure();
          take.forEach((t) => t.reject(error));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Resolves once every outcome added so far is committed or refused. */
  async flush() {
    while (this.draining) await this.idle;
  }
}
