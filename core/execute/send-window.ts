/**
 * Backpressure: at most `concurrency` batches on the wire, and at most as many again acknowledged
 * but not yet committed. That bounds what a kill can force the next run to re-send.
 */
export class SendWindow {
  /** One entry per batch on the wire; it leaves once the batch's outcome is judged. */
  private readonly sending = new Set<Promise<void>>();
  /** One entry per batch not yet committed (or refused); it leaves once the commit settles. */
  private readonly unsettled = new Set<Promise<void>>();

  constructor(private readonly concurrency: number) {}

  /** No further batch may be sent until one leaves the window. */
  get full(): boolean {
    return this.sending.size >= this.concurrency || this.unsettled.size >= 2 * this.concurrency;
  }

  /** Batches sent whose outcome is not judged yet. */
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
