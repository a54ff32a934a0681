/**
 * The `schedule` and `next_run_at` columns of `status`. Without a running service to ask, the next run
 * is the schedule's next slot after now; a service starting later also runs a slot missed meanwhile.
 */
import { maskable, redact } from '../../shared/redact.js';
import { describeSchedule, type Schedule } from './schedule.js';
import { nextSlot } from './schedule-slots.js';

export interface ScheduleColumns {
  schedule: string;
  /** ISO 8601, UTC; null for a manual sync. */
  next_run_at: string | null;
}

/** `secrets`: a schedule written as `${VAR}` is masked like any value from the environment. */
export function scheduleColumns(schedule: Schedule, now: Date, secrets: readonly string[]): ScheduleColumns {
  return {
    schedule: redact(describeSchedule(schedule), maskable(secrets)),
    next_run_at: nextSlot(schedule, now)?.toISOString() ?? null,
  };
}
