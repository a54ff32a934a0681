/**
 * What a run tells while it works, one typed event per line of the JSON log `run` writes on stderr
 * (the `msg` of a line is the event's `type`, its other fields are the line's fields).
 */
import type { DeliveryLogEntry } from '../alert/dispatcher.js';
import type { PlanCounts, SyncReport } from './sync-report.js';
import type { ModelRead } from '../plan/planner.js';

export interface InvalidRowEvent {
  type: 'invalid_row';
  sync: string;
  primary_key: string | null;
  reason: string;
}

/** Past the logged sample of invalid rows, how many more there are. */
export interface InvalidRowsMoreEvent {
  type: 'invalid_rows_more';
  sync: string;
  more: number;
}

/** The delete guard stopped a mirror run before it sent anything. */
export interface RunRefusedEvent {
  type: 'run_refused';
  sync: string;
  run_id: string;
  deletes: number;
  synced: number;
  max_share: number;
  error: string;
}

/** Deletes not sent because a write of the run addresses the same record. */
export interface DeletesSupersededEvent {
  type: 'deletes_superseded';
  sync: string;
  run_id: string;
  keys: number;
}

/** A Bulk API job a killed run left was read before planning; its results count in that run. */
export interface BulkJobRecoveredEvent {
  type: 'bulk_job_recovered';
  sync: string;
  job_id: string;
  /** The run that sent the job. */
  run_id: string;
  succeeded: number;
  failed: number;
  api_calls: number;
}

export type RunStartedEvent = { type: 'run_started'; sync: string; run_id: string } & PlanCounts & {
    batch_size: number;
    concurrency: number;
    workers: number;
    /** Rows per server-side job when the run writes through jobs (Salesforce Bulk API 2.0), else null. */
    job_rows: number | null;
    /** How the plan read the model (core/plan/planner.ts `ModelRead`). */
    model_read: ModelRead;
  };

/** After every commit: the run's totals so far. */
export interface ProgressEvent {
  type: 'progress';
  sync: string;
  run_id: string;
  planned: number;
  sent: number;
  succeeded: number;
  failed: number;
  aborted: number;
  api_calls: number;
}

export type RunFinishedEvent = { type: 'run_finished' } & Omit<SyncReport, 'plan'>;

export interface RunFailedEvent {
  type: 'run_failed';
  sync: string;
  run_id: string;
  error: string;
}

/** A paused sync that the run (or the scheduler) did not start. */
export interface SyncSkippedEvent {
  type: 'sync_skipped';
  sync: string;
  message: string;
}

/** A sync's health state changed (the same change is a row of `events`). */
export interface HealthChangedEvent {
  type: 'health_changed';
  sync: string;
  from: string | null;
  to: string;
  reason: string | null;
  run_id: string | null;
}

/** The run's result is recorded but its health could not be (the state store failed meanwhile). */
export interface HealthNotRecordedEvent {
  type: 'health_not_recorded';
  sync: string;
  error: string;
}

/** Self-healing looked at the destination's schema again after a schema drift (README "Self-healing"). */
export interface SchemaHealedEvent {
  type: 'schema_healed';
  sync: string;
  run_id: string;
  /** Mapped fields found deleted, left out of the payloads for the rest of the run; empty when none. */
  dropped_fields: string[];
  error_code: string;
  message: string;
}

/** Preflight found a mapped column some of whose values may not fit their field; those rows fail alone. */
export interface MappingWarningEvent {
  type: 'mapping_warning';
  sync: string;
  /** `mapping.<field>` */
  field: string;
  /** The one line, with the sync file and the mapping's line. */
  message: string;
}

export type RunEvent =
  | SyncSkippedEvent
  | MappingWarningEvent
  | SchemaHealedEvent
  | HealthChangedEvent
  | HealthNotRecordedEvent
  | DeliveryLogEntry
  | InvalidRowEvent
  | InvalidRowsMoreEvent
  | RunRefusedEvent
  | DeletesSupersededEvent
  | BulkJobRecoveredEvent
  | RunStartedEvent
  | ProgressEvent
  | RunFinishedEvent
  | RunFailedEvent;

export type RunListener = (event: RunEvent) => void;
