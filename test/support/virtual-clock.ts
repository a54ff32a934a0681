/**
 * A clock for scheduler tests: time stands still until the test moves it, and moving it wakes each
 * sleeper due on the way, at its own instant, then lets the code it woke run to its next await.
 * Nothing waits for real time.
 */
import type { Clock } from '../../core/schedule/clock.js';

interface Sleeper {
  at: number;
  wake: () => void;
}

/** Lets every promise callback already queued run (a macrotask comes after all microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class VirtualClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];

  constructor(start: string | Date) {
    this.time = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  sleepUntil(at: Date, signal: AbortSignal): Promise<void> {
    if (at.getTime() <= this.time || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: at.getTime(),
        wake: () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          signal.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal.addEventListener('abort', sleeper.wake);
    });
  }

  /** Instants someone sleeps until, earliest first. */
  pending(): Date[] {
    return this.sleepers
      .map((s) => s.at)
      .sort((a, b) => a - b)
      .map((at) => new Date(at));
  }

  async advanceTo(to: string | Date): Promise<void> {
    const target = new Date(to).getTime();
    if (target < this.time) throw new Error(`the virtual clock cannot go back from ${this.now().toISOString()}`);
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.time = next.at;
      next.wake();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /**
   * Moves time to `to` in one step, as a suspended machine or a wall-clock step does: sleepers due on the
   * way all wake at `to`.
   */
  async jumpTo(to: string | Date): Promise<void> {
    this.time = new Date(to).getTime();
    for (const sleeper of this.sleepers.filter((s) => s.at <= this.time)) sleeper.wake();
    await settle();
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(new Date(this.time + ms));
  }
}
