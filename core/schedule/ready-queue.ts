/**
 * Runs that are due but wait for a free place (at most `maxParallel` run at once): first due, first
 * started; equal due times keep their arrival order. A few dozen syncs at most, so a sorted array.
 */
import type { RunReason } from './scheduler-event.js';

export interface ReadyRun {
  sync: string;
  reason: RunReason;
  /** The slot, or when a manual trigger arrived. */
  dueAt: Date;
}

export class ReadyQueue {
  private readonly runs: ReadyRun[] = [];

  get size(): number {
    return this.runs.length;
  }

  push(run: ReadyRun): void {
    let index = this.runs.length;
    while (index > 0 && this.runs[index - 1].dueAt.getTime() > run.dueAt.getTime()) index--;
    this.runs.splice(index, 0, run);
  }

  shift(): ReadyRun | undefined {
    return this.runs.shift();
  }

  find(sync: string): ReadyRun | undefined {
    return this.runs.find((run) => run.sync === sync);
  }

  clear(): ReadyRun[] {
    return this.runs.splice(0);
  }
}
