/**
 * Injected request-level faults: "answer the next N requests of route X with this status and body".
 * Count-based, never random: jsforce re-sends failed GETs on its own (up to 5 times, ~15 s), so a
 * count keeps every run of a test identical.
 */
import type { Route } from './routes/route.js';

export interface Fault {
  route: Route;
  remaining: number;
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export class FaultQueue {
  private readonly faults: Fault[] = [];

  add(fault: Fault): void {
    if (fault.remaining > 0) this.faults.push(fault);
  }

  /** The first fault for `route` (or for `any`), one of its answers spent. */
  take(route: Route): Fault | undefined {
    const index = this.faults.findIndex((f) => f.route === route || f.route === 'any');
    if (index === -1) return undefined;
    const fault = this.faults[index];
    if (--fault.remaining === 0) this.faults.splice(index, 1);
    return fault;
  }
}
