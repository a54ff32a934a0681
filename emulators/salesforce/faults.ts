/**
 * Injected request-level faults: "answer the next N requests of route X with this status and body".
 * Count-based, never random: jsforce re-sends failed GETs on its own (up to 5 times, ~15 s), so a
 * count keeps every run of a test identical.
 */
import type { Route } from './routes/route.js';

export interface Fault {
  /** One route, or several sharing the count (e.g. getUpdated and getDeleted). */
  route: Route | Route[];
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
    const index = this.faults.findIndex((f) => matches(f.route, route));
    if (index === -1) return undefined;
    const fault = this.faults[index];
    if (--fault.remaining === 0) this.faults.splice(index, 1);
    return fault;
  }
}

export const matches = (target: Route | Route[], route: Route) =>
  Array.isArray(target) ? target.includes(route) || target.includes('any') : target === route || target === 'any';

/** "The next N gzip answers of route X are corrupt": the route answers normally, its body cannot be decoded. */
export class CorruptionQueue {
  private readonly pending: Array<{ route: Route | Route[]; remaining: number }> = [];

  add(route: Route | Route[], count: number): void {
    if (count > 0) this.pending.push({ route, remaining: count });
  }

  take(route: Route): boolean {
    const index = this.pending.findIndex((p) => matches(p.route, route));
    if (index === -1) return false;
    if (--this.pending[index].remaining === 0) this.pending.splice(index, 1);
    return true;
  }
}
