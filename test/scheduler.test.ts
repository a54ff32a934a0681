/**
 * The scheduler's slot math and run rules, on a virtual clock: time moves only when a test moves it, and
 * runs are promises the test settles, so every ordering below is decided by the test, never by timing.
 */
import { describe, expect, it } from 'vitest';
import { parseSchedule, type Schedule } from '../core/config/schedule.js';
import { missedSlot, nextSlot, slotsBetween } from '../core/config/schedule-slots.js';
import { systemClock } from '../core/schedule/clock.js';
import type { RunReason, SchedulerEvent } from '../core/schedule/scheduler-event.js';
import { Scheduler, type ScheduledSync } from '../core/schedule/scheduler.js';
import { settle, VirtualClock } from './support/virtual-clock.js';

const where = { file: 'syncs/test.yaml', lineOf: () => 1 };
const every = (text: string): Schedule => parseSchedule({ every: text }, where);
const cron = (expression: string, timezone?: string): Schedule => parseSchedule({ cron: expression, timezone }, where);
const MANUAL: Schedule = parseSchedule('manual', where);
const iso = (dates: (Date | null)[]) => dates.map((d) => d?.toISOString() ?? null);

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A scheduler whose runs are deferred promises kept by sync name, with every event recorded. `instant`
 * makes runs resolve at once instead.
 */
function harness(syncs: ScheduledSync[], start: string, options: { maxParallel?: number; instant?: boolean } = {}) {
  const clock = new VirtualClock(start);
  const events: SchedulerEvent[] = [];
  const runs: { sync: string; reason: RunReason; done: Deferred }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const scheduler = new Scheduler({
    syncs,
    clock,
    maxParallel: options.maxParallel ?? 4,
    onEvent: (event) => events.push(event),
    runSync: async (sync, reason) => {
      const done = deferred();
      runs.push({ sync, reason, done });
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      if (options.instant) done.resolve();
      try {
        await done.promise;
      } finally {
        running--;
      }
    },
  });
  /** The oldest run of `sync` not yet settled by the test. */
  const open = new Set<Deferred>();
  const current = (sync: string) => {
    const run = runs.find((r) => r.sync === sync && !open.has(r.done));
    if (!run) throw new Error(`no open run of ${sync}`);
    open.add(run.done);
    return run.done;
  };
  return {
    clock,
    scheduler,
    events,
    runs,
    mostAtOnce: () => mostAtOnce,
    /** Settles the oldest open run of `sync` and lets the scheduler react. */
    async finish(sync: string, error?: unknown) {
      const done = current(sync);
      if (error === undefined) done.resolve();
      else done.reject(error);
      await settle();
    },
    started: () =>
      events.filter((e) => e.type === 'started').map((e) => `${e.sync}@${e.at.toISOString()}:${(e as { reason: string }).reason}`),
    of: (type: SchedulerEvent['type']) => events.filter((e) => e.type === type),
  };
}

describe('slots', () => {
  it('anchors an interval at the Unix epoch, strictly after the given instant', () => {
    const quarter = every('15m');
    expect(nextSlot(quarter, new Date('2026-05-04T10:07:31.250Z'))?.toISOString()).toBe('2026-05-04T10:15:00.000Z');
    expect(nextSlot(quarter, new Date('2026-05-04T10:15:00.000Z'))?.toISOString()).toBe('2026-05-04T10:30:00.000Z');
    // 7 minutes does not divide an hour: slots are multiples of 420,000 ms since 1970, whatever the start.
    const seven = nextSlot(every('7m'), new Date('2026-05-04T10:00:00Z'))!;
    expect(seven.getTime() % 420_000).toBe(0);
    expect(seven.getTime() - Date.parse('2026-05-04T10:00:00Z')).toBeLessThanOrEqual(420_000);
    expect(iso(slotsBetween(every('1h30m'), new Date('2026-05-04T00:00:00Z'), new Date('2026-05-04T06:00:00Z')))).toEqual([
      '2026-05-04T01:30:00.000Z',
      '2026-05-04T03:00:00.000Z',
      '2026-05-04T04:30:00.000Z',
      '2026-05-04T06:00:00.000Z',
    ]);
    expect(nextSlot(MANUAL, new Date())).toBeNull();
  });

  it('reads a cron expression in its time zone, through both DST changes of Europe/Paris', () => {
    // 09:00 in Paris is 08:00Z in winter (CET) and 07:00Z from Sunday 29 March 2026 (CEST).
    expect(
      iso(slotsBetween(cron('0 9 * * *', 'Europe/Paris'), new Date('2026-03-27T12:00:00Z'), new Date('2026-03-31T00:00:00Z'))),
    ).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z']);
    // 02:30 does not exist on 29 March (02:00 → 03:00): the run comes at 03:00 CEST, 01:00Z.
    expect(nextSlot(cron('30 2 * * *', 'Europe/Paris'), new Date('2026-03-28T12:00:00Z'))?.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // 02:30 happens twice on 25 October (03:00 → 02:00): one run, at the first.
    expect(
      iso(slotsBetween(cron('30 2 * * *', 'Europe/Paris'), new Date('2026-10-24T12:00:00Z'), new Date('2026-10-26T12:00:00Z'))),
    ).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // A list of fixed times is treated alike (croner's default would skip the 02:30 run of 29 March).
    expect(
      iso(slotsBetween(cron('30 2,14 * * *', 'Europe/Paris'), new Date('2026-03-28T20:00:00Z'), new Date('2026-03-29T20:00:00Z'))),
    ).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T12:30:00.000Z']);
    expect(
      iso(slotsBetween(cron('30 2,14 * * *', 'Europe/Paris'), new Date('2026-10-24T20:00:00Z'), new Date('2026-10-25T20:00:00Z'))),
    ).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T13:30:00.000Z']);
    // Hourly keeps its real-time rhythm: the local day of 25 October has 25 hours, 29 March 23.
    const hourly = cron('0 * * * *', 'Europe/Paris');
    expect(slotsBetween(hourly, new Date('2026-10-24T22:00:00Z'), new Date('2026-10-25T23:00:00Z'))).toHaveLength(25);
    expect(slotsBetween(hourly, new Date('2026-03-28T23:00:00Z'), new Date('2026-03-29T22:00:00Z'))).toHaveLength(23);
    // Without a zone, UTC.
    expect(nextSlot(cron('0 9 * * *'), new Date('2026-03-29T00:00:00Z'))?.toISOString()).toBe('2026-03-29T09:00:00.000Z');
  });

  it('sees a missed slot when one passed after the last run started', () => {
    const quarter = every('15m');
    expect(missedSlot(quarter, new Date('2026-05-04T08:00:00Z'), new Date('2026-05-04T10:07:00Z'))).toBe(true);
    expect(missedSlot(quarter, new Date('2026-05-04T10:01:00Z'), new Date('2026-05-04T10:07:00Z'))).toBe(false);
    expect(missedSlot(MANUAL, new Date('2020-01-01T00:00:00Z'), new Date('2026-05-04T10:07:00Z'))).toBe(false);
  });
});

describe('Scheduler', () => {
  it('runs an interval sync at each slot, and a manual one only when triggered', async () => {
    const h = harness(
      [
        { name: 'quarter', schedule: every('15m') },
        { name: 'by_hand', schedule: MANUAL },
      ],
      '2026-05-04T10:07:00Z',
      { instant: true },
    );
    h.scheduler.start();
    expect(h.scheduler.nextRunAt('quarter')?.toISOString()).toBe('2026-05-04T10:15:00.000Z');
    expect(h.scheduler.nextRunAt('by_hand')).toBeNull();
    expect(h.clock.pending()).toHaveLength(1);

    await h.clock.advanceTo('2026-05-04T10:14:59.999Z');
    expect(h.runs).toHaveLength(0);
    await h.clock.advanceTo('2026-05-04T10:45:00Z');
    expect(h.started()).toEqual([
      'quarter@2026-05-04T10:15:00.000Z:schedule',
      'quarter@2026-05-04T10:30:00.000Z:schedule',
      'quarter@2026-05-04T10:45:00.000Z:schedule',
    ]);
    expect(h.of('due').map((e) => (e as { slot: Date }).slot.toISOString())).toEqual([
      '2026-05-04T10:15:00.000Z',
      '2026-05-04T10:30:00.000Z',
      '2026-05-04T10:45:00.000Z',
    ]);
    expect(h.of('finished')).toHaveLength(3);
    expect(h.scheduler.nextRunAt('quarter')?.toISOString()).toBe('2026-05-04T11:00:00.000Z');

    expect(h.scheduler.trigger('by_hand')).toBe('started');
    await settle();
    expect(h.runs.map((r) => `${r.sync}:${r.reason}`)).toContain('by_hand:manual');
    await h.scheduler.stop();
  });

  it('runs a cron sync at its slots in its time zone, across the March DST change', async () => {
    const h = harness([{ name: 'morning', schedule: cron('0 9 * * *', 'Europe/Paris') }], '2026-03-27T12:00:00Z', { instant: true });
    h.scheduler.start();
    await h.clock.advanceTo('2026-03-31T00:00:00Z');
    expect(h.started()).toEqual([
      'morning@2026-03-28T08:00:00.000Z:schedule',
      'morning@2026-03-29T07:00:00.000Z:schedule',
      'morning@2026-03-30T07:00:00.000Z:schedule',
    ]);
    await h.scheduler.stop();
  });

  it('runs a slot missed while the service was down once at start, not once per missed slot', async () => {
    const h = harness(
      [
        { name: 'missed', schedule: every('15m') },
        { name: 'recent', schedule: every('15m') },
        { name: 'never_run', schedule: every('15m') },
        { name: 'by_hand', schedule: MANUAL },
      ],
      '2026-05-04T10:07:00Z',
      { instant: true },
    );
    // Down since 08:00: eight slots of `missed` passed. `recent` last ran after its latest slot.
    h.scheduler.start({
      missed: new Date('2026-05-04T08:00:00Z'),
      recent: new Date('2026-05-04T10:01:00Z'),
      by_hand: new Date('2026-05-01T00:00:00Z'),
    });
    await settle();
    expect(h.started()).toEqual(['missed@2026-05-04T10:07:00.000Z:missed']);
    expect(h.of('due')).toEqual([
      { type: 'due', sync: 'missed', at: new Date('2026-05-04T10:07:00Z'), slot: new Date('2026-05-04T08:15:00Z'), missed: true },
    ]);
    await h.clock.advanceTo('2026-05-04T10:15:00Z');
    expect(h.started().slice(1).sort()).toEqual([
      'missed@2026-05-04T10:15:00.000Z:schedule',
      'never_run@2026-05-04T10:15:00.000Z:schedule',
      'recent@2026-05-04T10:15:00.000Z:schedule',
    ]);
    await h.scheduler.stop();
  });

  it('runs once when the clock jumps over several slots (a suspended machine), then resumes its rhythm', async () => {
    const h = harness([{ name: 'quarter', schedule: every('15m') }], '2026-05-04T10:07:00Z', { instant: true });
    h.scheduler.start();
    await h.clock.jumpTo('2026-05-04T12:05:00Z');
    expect(h.started()).toEqual(['quarter@2026-05-04T12:05:00.000Z:schedule']);
    expect(h.of('due')).toHaveLength(1);
    expect(h.scheduler.nextRunAt('quarter')?.toISOString()).toBe('2026-05-04T12:15:00.000Z');
    await h.scheduler.stop();
  });

  it('queues exactly one follow-up for triggers that arrive during a run, and coalesces the rest', async () => {
    const h = harness([{ name: 'users', schedule: every('15m') }], '2026-05-04T10:07:00Z');
    h.scheduler.start();
    await h.clock.advanceTo('2026-05-04T10:15:00Z');
    expect(h.runs).toHaveLength(1);

    // The run is still going: the 10:30 slot queues a follow-up; 10:45 and two manual triggers add nothing.
    await h.clock.advanceTo('2026-05-04T10:30:00Z');
    expect(h.scheduler.trigger('users')).toBe('coalesced');
    await h.clock.advanceTo('2026-05-04T10:45:00Z');
    expect(h.scheduler.trigger('users')).toBe('coalesced');
    expect(h.runs).toHaveLength(1);
    expect(h.of('queued')).toEqual([{ type: 'queued', sync: 'users', at: new Date('2026-05-04T10:30:00Z'), reason: 'schedule' }]);
    expect(h.of('coalesced')).toHaveLength(3);
    expect(h.scheduler.nextRunAt('users')?.toISOString()).toBe('2026-05-04T10:30:00.000Z');

    await h.clock.advanceTo('2026-05-04T10:50:00Z');
    await h.finish('users');
    expect(h.started()).toEqual(['users@2026-05-04T10:15:00.000Z:schedule', 'users@2026-05-04T10:50:00.000Z:schedule']);
    expect(h.mostAtOnce()).toBe(1);

    await h.finish('users');
    expect(h.runs).toHaveLength(2);
    expect(h.scheduler.nextRunAt('users')?.toISOString()).toBe('2026-05-04T11:00:00.000Z');

    // Manual triggers follow the same rule: started, queued, coalesced.
    expect(h.scheduler.trigger('users')).toBe('started');
    expect(h.scheduler.trigger('users', 'manual')).toBe('queued');
    expect(h.scheduler.trigger('users')).toBe('coalesced');
    await settle();
    await h.finish('users');
    await h.finish('users');
    expect(h.runs).toHaveLength(4);
    await h.scheduler.stop();
  });

  it('runs at most maxParallel syncs at once; the others wait and start as places free up', async () => {
    const h = harness(
      [
        { name: 'a', schedule: MANUAL },
        { name: 'b', schedule: MANUAL },
        { name: 'c', schedule: MANUAL },
      ],
      '2026-05-04T10:00:00Z',
      { maxParallel: 2 },
    );
    h.scheduler.start();
    expect(h.scheduler.trigger('a')).toBe('started');
    expect(h.scheduler.trigger('b')).toBe('started');
    await h.clock.advanceBy(60_000);
    expect(h.scheduler.trigger('c')).toBe('waiting');
    expect(h.scheduler.trigger('c')).toBe('coalesced');
    expect(h.scheduler.nextRunAt('c')?.toISOString()).toBe('2026-05-04T10:01:00.000Z');
    await settle();
    expect(h.runs.map((r) => r.sync)).toEqual(['a', 'b']);

    await h.finish('b');
    expect(h.runs.map((r) => r.sync)).toEqual(['a', 'b', 'c']);
    expect(h.scheduler.nextRunAt('c')).toBeNull();
    await h.finish('a');
    await h.finish('c');
    expect(h.mostAtOnce()).toBe(2);
    expect(h.of('finished')).toHaveLength(3);
    await h.scheduler.stop();
  });

  it('starts waiting runs in the order they fell due, not in the order syncs are declared', async () => {
    const h = harness(
      [
        { name: 'long', schedule: cron('0 11 * * *') },
        { name: 'late', schedule: cron('20 11 * * *') },
        { name: 'early', schedule: cron('10 11 * * *') },
      ],
      '2026-05-04T10:00:00Z',
      { maxParallel: 1 },
    );
    h.scheduler.start();
    await h.clock.advanceTo('2026-05-04T11:30:00Z');
    expect(h.runs.map((r) => r.sync)).toEqual(['long']);
    await h.finish('long');
    await h.finish('early');
    await h.finish('late');
    expect(h.started()).toEqual([
      'long@2026-05-04T11:00:00.000Z:schedule',
      'early@2026-05-04T11:30:00.000Z:schedule',
      'late@2026-05-04T11:30:00.000Z:schedule',
    ]);
    await h.scheduler.stop();
  });

  it('stop() starts nothing more and resolves only once the running callbacks have settled', async () => {
    const h = harness(
      [
        { name: 'a', schedule: every('15m') },
        { name: 'b', schedule: every('15m') },
        { name: 'c', schedule: every('15m') },
      ],
      '2026-05-04T10:07:00Z',
      { maxParallel: 2 },
    );
    h.scheduler.start();
    await h.clock.advanceTo('2026-05-04T10:15:00Z');
    expect(h.runs.map((r) => r.sync)).toEqual(['a', 'b']);
    expect(h.scheduler.trigger('a')).toBe('queued');

    let stopped = false;
    const stopping = h.scheduler.stop().then(() => {
      stopped = true;
    });
    expect(h.clock.pending()).toEqual([]);
    expect(h.scheduler.trigger('c')).toBe('stopped');
    expect(h.scheduler.nextRunAt('a')).toBeNull();
    await h.clock.advanceTo('2026-05-04T12:00:00Z');
    await h.finish('a');
    expect(stopped).toBe(false);
    await h.finish('b');
    await stopping;
    expect(stopped).toBe(true);
    // Neither c (waiting for a place), nor a's queued follow-up, nor any later slot started.
    expect(h.runs.map((r) => r.sync)).toEqual(['a', 'b']);
    expect(h.of('due')).toHaveLength(3);
  });

  it('reports a run that throws or rejects as finished with its error, and keeps scheduling', async () => {
    const clock = new VirtualClock('2026-05-04T10:07:00Z');
    const events: SchedulerEvent[] = [];
    let calls = 0;
    const scheduler = new Scheduler({
      syncs: [{ name: 'flaky', schedule: every('15m') }],
      clock,
      maxParallel: 1,
      onEvent: (event) => events.push(event),
      runSync: () => {
        calls++;
        if (calls === 1) throw new Error('destination down');
        if (calls === 2) return Promise.reject(new Error('state store refused a commit'));
        return Promise.resolve();
      },
    });
    scheduler.start();
    await clock.advanceTo('2026-05-04T10:45:00Z');
    const finished = events.filter((e) => e.type === 'finished');
    expect(finished.map((e) => [e.at.toISOString(), e.error])).toEqual([
      ['2026-05-04T10:15:00.000Z', 'destination down'],
      ['2026-05-04T10:30:00.000Z', 'state store refused a commit'],
      ['2026-05-04T10:45:00.000Z', undefined],
    ]);
    expect(scheduler.nextRunAt('flaky')?.toISOString()).toBe('2026-05-04T11:00:00.000Z');
    await scheduler.stop();
  });

  it('refuses an unknown sync name and a maxParallel below 1', () => {
    const scheduler = new Scheduler({
      syncs: [],
      clock: new VirtualClock('2026-05-04T10:00:00Z'),
      maxParallel: 1,
      runSync: async () => undefined,
    });
    expect(() => scheduler.trigger('nope')).toThrow(/no sync named "nope"/);
    expect(
      () => new Scheduler({ syncs: [], clock: new VirtualClock('2026-05-04T10:00:00Z'), maxParallel: 0, runSync: async () => undefined }),
    ).toThrow(/maxParallel/);
  });
});

describe('systemClock', () => {
  it('wakes at once for a past instant and when aborted, without waiting', async () => {
    const controller = new AbortController();
    await systemClock.sleepUntil(new Date(Date.now() - 1000), controller.signal);
    const sleeping = systemClock.sleepUntil(new Date(Date.now() + 3_600_000), controller.signal);
    controller.abort();
    await sleeping;
    expect(systemClock.now()).toBeInstanceOf(Date);
  });
});
