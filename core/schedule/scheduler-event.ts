/** What the scheduler reports, for logs and metrics: one object per happening, each with the instant it happened. */

/** Why a run starts: its slot came, a slot passed while no scheduler ran, or someone asked. */
export type RunReason = 'schedule' | 'missed' | 'manual';

export type SchedulerEvent =
  /** A slot came; `missed` when it passed while the service was down and runs once at start. */
  | { type: 'due'; sync: string; at: Date; slot: Date; missed: boolean }
  | { type: 'started'; sync: string; at: Date; reason: RunReason }
  /** `error` is set when the run's callback threw or rejected; the scheduler carries on. */
  | { type: 'finished'; sync: string; at: Date; reason: RunReason; duration_ms: number; error?: string }
  /** A trigger arrived while the sync ran: one follow-up run will start when it ends. */
  | { type: 'queued'; sync: string; at: Date; reason: RunReason }
  /** The sync is paused: this run did not start; `message` says why and how to resume. */
  | { type: 'skipped'; sync: string; at: Date; reason: RunReason; message: string }
  /** A trigger arrived while a run was already waiting or queued: it adds nothing. */
  | { type: 'coalesced'; sync: string; at: Date; reason: RunReason };
