/**
 * Judges each batch's result as it returns: whether the run must stop because of it, and with what
 * failure. A destination's auth or fatal failure stops the run at once; so does an outage.
 */
import type { Failure } from '../../connectors/destination.js';
import type { DeliveryResult } from './deliver-batch.js';

/**
 * A destination that is down fails every batch transiently even after retries. Past this many such
 * batches in a row the run stops instead of filling the failed-row index with every remaining row.
 */
const OUTAGE_BATCHES = 3;

/** The transient failure shared by every row of a batch, if the whole batch failed that way. */
function outageOf(result: DeliveryResult): Failure | null {
  if (result.plain?.length) return null;
  const first = result.rows[0];
  if (first?.status !== 'failed') return null;
  const transient = (r: DeliveryResult['rows'][number]) =>
    r.status === 'failed' && (r.failure.errorClass === 'transient' || r.failure.errorClass === 'rate_limited');
  return result.rows.every(transient) ? first.failure : null;
}

export class OutcomeJudge {
  /** Batches in a row whose every row failed transiently. */
  private failingBatches = 0;

  constructor(private readonly redact: (text: string) => string) {}

  /** The failure that stops the run after this result, or null; call once per result, in arrival order. */
  stoppingFailure(result: DeliveryResult): Failure | null {
    const fatal = result.fatal ? { ...result.fatal, message: this.redact(result.fatal.message) } : null;
    const outage = outageOf(result);
    this.failingBatches = outage ? this.failingBatches + 1 : 0;
    if (fatal) return fatal;
    if (!outage || this.failingBatches < OUTAGE_BATCHES) return null;
    return {
      errorClass: 'fatal',
      code: 'DESTINATION_UNAVAILABLE',
      message: this.redact(`${this.failingBatches} batches in a row failed after every retry; last: ${outage.code}: ${outage.message}`),
      remediation: 'check that the destination is up; the failed rows are retried by the next run.',
    };
  }
}
