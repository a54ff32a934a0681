/**
 * Backpressure: at most `handedOut` batches handed to the write threads and not yet judged (on the wire,
 * or queued there behind the gate of send-gate.ts), and at most `maxUnsettled` batches handed out but not
 * yet committed (those on the wire included). That bounds what a kill can force the next run to re-send.
 */
export class SendWindow {
  /** One entry per batch on the wire; it leaves once the batch's outcome is judged. */
  private readonly sending = new Set<Promise<void>>();
  /** One entry per batch not yet committed (or refused); it leaves once the commit settles. */
  private readonly unsettled = new Set<Promise<void>>();

  constructor(
    private readonly handedOut: number,
    private readonly maxUnsettled: number,
  ) {}

  /** No further batch may be sent until one leaves the window. */
  get full(): boolean {
    return this.sending.size >= this.handedOut || this.unsettled.size >= this.maxUnsettled;
  }

  /** Batches handed out whose outcome is not judged yet. */
  get onWire(): number {
    return this.sending.size;
  }

  /** Settles once some batch leaves the wire or is committed; never rejects. */
  progress(): Promise<void> {
    return Promise.race([...this.sending, ...this.unsettled]);
  }

  /**
   * Takes a batch into the window. `sent` settles once its outcome is judged; `commit(sent)` chains
   * the commit on it and must never reject, so that `progress` and `allSettled` cannot throw.
   */
  track<T>(sent: Promise<T>, commit: (sent: Promise<T>) => Promise<void>): void {
    const onWire: Promise<void> = sent
      .then(
        () => {},
        () => {},
      )
      .finally(() => this.sending.delete(onWire));
    const job: Promise<void> = commit(sent).finally(() => this.unsettled.delete(job));
    this.sending.add(onWire);
    this.unsettled.add(job);
  }

  /** Settles once every batch taken so far is committed or refused. */
  allSettled(): Promise<unknown> {
    return Promise.all(this.unsettled);
  }
}

/**
 * Rows a run may have sent without having committed them: what a kill can make the next run re-send.
 * A commit's cost is mostly fixed: on this machine's disk a DuckDB commit of 100 rows took 13 ms, of
 * which the WAL's fsync 10 ms (0.8 ms on tmpfs), and 2,000 rows cost 25 ms. A window of 2 × concurrency
 * batches (800 rows by default) let commits of about 400 rows pace the whole run; 4,000 rows lets a
 * commit take what arrived during the previous one's fsync.
 */
export const UNCOMMITTED_ROWS = 4_000;

/** Batches sent but not committed at most: 2 × `concurrency`, or more while they hold under `UNCOMMITTED_ROWS`. */
export function maxUnsettledBatches(concurrency: number, batchSize: number): number {
  return Math.max(2 * concurrency, Math.floor(UNCOMMITTED_ROWS / batchSize));
}
