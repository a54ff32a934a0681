/**
 * Starts syncs when their slots come, by the rules a reverse-ETL service needs:
 *
 * - a sync never overlaps itself: a trigger (a slot or `trigger(name)`) while it runs queues exactly one
 *   follow-up run, and more triggers meanwhile coalesce into that one (a run reads the model's current
 *   rows, so two queued runs would send what one sends);
 * - at most `maxParallel` runs at once; the others wait, first due first started;
 * - a slot that passed while no scheduler ran (its sync's last run started before it) runs once at
 *   `start`, however many slots passed: each run catches up on everything;
 * - a run that throws is reported in its `finished` event and changes nothing else;
 * - a sync that `skipReason` says is paused does not run: a `skipped` event, and its slots keep coming;
 * - `stop()` starts nothing more and resolves once the running callbacks have settled.
 *
 * Pure logic: time comes from the injected `Clock`, work from the `runSync` callback.
 */
import type { Schedule } from '../config/schedule.js';
import { missedSlot, nextSlot } from '../config/schedule-slots.js';
import { UserError } from '../../shared/errors.js';
import type { Clock } from './clock.js';
import { ReadyQueue } from './ready-queue.js';
import type { RunReason, SchedulerEvent } from './scheduler-event.js';

export interface ScheduledSync {
  name: string;
  schedule: Schedule;
}

export interface SchedulerOptions {
  syncs: readonly ScheduledSync[];
  clock: Clock;
  /** Runs at once, over all syncs; at least 1. */
  maxParallel: number;
  runSync(name: string, reason: RunReason): Promise<unknown>;
  /**
   * Asked just before a run starts: a message when the sync must not run now (it is paused), which the
   * `skipped` event carries; null to run it. A check that throws lets the run go (it fails on its own).
   */
  skipReason?(name: string): Promise<string | null>;
  onEvent?(event: SchedulerEvent): void;
}

/** What `trigger` did with the request. */
export type TriggerOutcome = 'started' | 'waiting' | 'queued' | 'coalesced' | 'stopped';

interface SyncState {
  schedule: Schedule;
  /** The next slot the timer will fire; null for a manual schedule. */
  nextDueAt: Date | null;
  phase: 'idle' | 'waiting' | 'running';
  /** The one run to start when the current one ends. */
  followUp: { reason: RunReason; at: Date } | null;
}

export class Scheduler {
  private readonly syncs = new Map<string, SyncState>();
  private readonly ready = new ReadyQueue();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly wake = new AbortController();
  private running = 0;
  private phase: 'new' | 'started' | 'stopped' = 'new';
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly options: SchedulerOptions) {
    if (!Number.isInteger(options.maxParallel) || options.maxParallel < 1) {
      throw new RangeError(`maxParallel must be a whole number of at least 1, not ${options.maxParallel}`);
    }
    for (const sync of options.syncs) {
      this.syncs.set(sync.name, { schedule: sync.schedule, nextDueAt: null, phase: 'idle', followUp: null });
    }
  }

  /**
   * Arms every schedule from now and runs, once each, the syncs that missed a slot: those whose last
   * run (from the state store; absent for a sync never run, which waits for its first slot) started
   * before a slot that has passed.
   */
  start(lastStartedAt: Readonly<Record<string, Date | null | undefined>> = {}): void {
    if (this.phase !== 'new') throw new Error(`the scheduler was already ${this.phase}`);
    this.phase = 'started';
    const now = this.options.clock.now();
    const missed: { sync: string; slot: Date }[] = [];
    for (const [name, state] of this.syncs) {
      state.nextDueAt = nextSlot(state.schedule, now);
      const last = Object.hasOwn(lastStartedAt, name) ? lastStartedAt[name] : undefined;
      if (last && missedSlot(state.schedule, last, now)) missed.push({ sync: name, slot: nextSlot(state.schedule, last)! });
    }
    missed.sort((a, b) => a.slot.getTime() - b.slot.getTime());
    for (const { sync, slot } of missed) {
      this.emit({ type: 'due', sync, at: now, slot, missed: true });
      this.enqueue(sync, 'missed', slot);
    }
    this.startReadyRuns();
    this.loop = this.timerLoop();
  }

  /** Asks for a run of `name` now (an API call, a webhook). */
  trigger(name: string, reason: RunReason = 'manual'): TriggerOutcome {
    this.stateOf(name);
    return this.enqueue(name, reason, this.options.clock.now());
  }

  /**
   * When `name` runs next: its next slot; or, when a run is waiting for a free place or queued behind
   * the current one, when that was asked for (already past). Null for a manual sync with nothing
   * waiting, and once stopped.
   */
  nextRunAt(name: string): Date | null {
    const state = this.stateOf(name);
    if (this.phase === 'stopped') return null;
    if (state.phase === 'waiting') return this.ready.find(name)!.dueAt;
    if (state.followUp) return state.followUp.at;
    return state.nextDueAt;
  }

  /** Starts nothing more (slots, waiting and queued runs are dropped) and resolves once running callbacks have settled. */
  async stop(): Promise<void> {
    if (this.phase !== 'stopped') {
      this.phase = 'stopped';
      this.wake.abort();
      for (const run of this.ready.clear()) this.stateOf(run.sync).phase = 'idle';
      for (const state of this.syncs.values()) state.followUp = null;
    }
    await this.loop;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private stateOf(name: string): SyncState {
    const state = this.syncs.get(name);
    if (!state) {
      throw new UserError(`no sync named "${name}"`, {
        file: `syncs/${name}.yaml`,
        hint: `defined syncs: ${[...this.syncs.keys()].join(', ') || 'none'}.`,
      });
    }
    return state;
  }

  private enqueue(name: string, reason: RunReason, dueAt: Date): TriggerOutcome {
    if (this.phase === 'stopped') return 'stopped';
    const state = this.stateOf(name);
    const at = this.options.clock.now();
    if (state.phase === 'running' && !state.followUp) {
      state.followUp = { reason, at: dueAt };
      this.emit({ type: 'queued', sync: name, at, reason });
      return 'queued';
    }
    if (state.phase !== 'idle') {
      this.emit({ type: 'coalesced', sync: name, at, reason });
      return 'coalesced';
    }
    state.phase = 'waiting';
    this.ready.push({ sync: name, reason, dueAt });
    this.startReadyRuns();
    return this.ready.find(name) ? 'waiting' : 'started';
  }

  private startReadyRuns(): void {
    while (this.phase === 'started' && this.running < this.options.maxParallel && this.ready.size > 0) {
      const { sync, reason } = this.ready.shift()!;
      this.launch(sync, reason);
    }
  }

  private launch(name: string, reason: RunReason): void {
    const state = this.stateOf(name);
    state.phase = 'running';
    this.running++;
    const settle = () => {
      this.running--;
      state.phase = 'idle';
      const followUp = state.followUp;
      state.followUp = null;
      if (followUp) this.enqueue(name, followUp.reason, followUp.at);
      else this.startReadyRuns();
    };
    const check = this.options.skipReason;
    if (!check) {
      this.track(this.startRun(name, reason, settle));
      return;
    }
    // The place stays taken while the check runs, so maxParallel holds.
    const checked = check(name)
      .catch(() => null)
      .then((message) => {
        if (message === null) return this.startRun(name, reason, settle);
        this.emit({ type: 'skipped', sync: name, at: this.options.clock.now(), reason, message });
        settle();
      });
    this.track(checked);
  }

  private track(run: Promise<void>): void {
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private startRun(name: string, reason: RunReason, settle: () => void): Promise<void> {
    const startedAt = this.options.clock.now();
    this.emit({ type: 'started', sync: name, at: startedAt, reason });
    const settled = (error?: unknown) => {
      const at = this.options.clock.now();
      const finished: SchedulerEvent = { type: 'finished', sync: name, at, reason, duration_ms: at.getTime() - startedAt.getTime() };
      if (error !== undefined) finished.error = error instanceof Error ? error.message : String(error);
      this.emit(finished);
      settle();
    };
    // An async wrapper turns a callback that throws before returning its promise into a rejection.
    return (async () => this.options.runSync(name, reason))().then(
      () => settled(),
      (error: unknown) => settled(error ?? new Error('the run rejected without a reason')),
    );
  }

  private async timerLoop(): Promise<void> {
    const { clock } = this.options;
    while (this.phase === 'started') {
      const next = this.earliestSlot();
      if (next === null) {
        // Every sync is manual: nothing to wake for until stop().
        await new Promise<void>((resolve) => this.wake.signal.addEventListener('abort', () => resolve(), { once: true }));
        return;
      }
      await clock.sleepUntil(next, this.wake.signal);
      if (this.phase !== 'started') return;
      this.fireDueSlots(clock.now());
    }
  }

  private earliestSlot(): Date | null {
    let earliest: Date | null = null;
    for (const state of this.syncs.values()) {
      if (state.nextDueAt && (!earliest || state.nextDueAt < earliest)) earliest = state.nextDueAt;
    }
    return earliest;
  }

  /** Triggers every sync whose slot has come, oldest slot first; slots skipped meanwhile (a suspended machine) fold into it. */
  private fireDueSlots(now: Date): void {
    const due = [...this.syncs]
      .filter(([, state]) => state.nextDueAt !== null && state.nextDueAt.getTime() <= now.getTime())
      .sort(([, a], [, b]) => a.nextDueAt!.getTime() - b.nextDueAt!.getTime());
    for (const [name, state] of due) {
      const slot = state.nextDueAt!;
      state.nextDueAt = nextSlot(state.schedule, now);
      this.emit({ type: 'due', sync: name, at: now, slot, missed: false });
      this.enqueue(name, 'schedule', slot);
    }
  }

  private emit(event: SchedulerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A log or metrics sink that throws must not leave a run counted as running forever.
    }
  }
}
