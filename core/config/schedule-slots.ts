/**
 * When a schedule's slots fall. Pure: the caller gives the instants, so a scheduler, `status` and tests
 * with a virtual clock agree. It lives next to the parser (not in core/schedule) because `status`, in
 * core/run below the scheduler, shows the next slot too.
 *
 * An interval's slots are k·interval since 1970-01-01T00:00Z, so they do not move when the service
 * restarts: `every: 15m` runs at :00, :15, :30, :45; `every: 7m` at multiples of 7 minutes since the epoch.
 * A cron's slots are croner's, in the schedule's zone: on a DST day a wall-clock time that does not exist
 * (02:30 in Paris on the last Sunday of March) runs at the first valid time after the gap, one that occurs
 * twice runs once; patterns with a `*` or a step in the minute or hour field keep their real-time rhythm.
 */
import { cronJob, type Schedule } from './schedule.js';

/** The first slot strictly after `after`; null for a manual schedule (or a cron with no date left). */
export function nextSlot(schedule: Schedule, after: Date): Date | null {
  if (schedule.kind === 'manual') return null;
  if (schedule.kind === 'every') {
    const interval = schedule.interval_ms;
    return new Date((Math.floor(after.getTime() / interval) + 1) * interval);
  }
  return cronJob(schedule.cron, schedule.timezone).nextRun(after);
}

/** The slots in (from, to], oldest first, at most `limit` of them. */
export function slotsBetween(schedule: Schedule, from: Date, to: Date, limit = 1000): Date[] {
  const slots: Date[] = [];
  let slot = nextSlot(schedule, from);
  while (slot !== null && slot.getTime() <= to.getTime() && slots.length < limit) {
    slots.push(slot);
    slot = nextSlot(schedule, slot);
  }
  return slots;
}

/** Whether a slot fell after `lastStartedAt` and by `now`: the sync missed a run while nothing was scheduling it. */
export function missedSlot(schedule: Schedule, lastStartedAt: Date, now: Date): boolean {
  const slot = nextSlot(schedule, lastStartedAt);
  return slot !== null && slot.getTime() <= now.getTime();
}
