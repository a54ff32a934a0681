/**
 * The programmatic API, `import { … } from 'hightouch-like'`: load a project, start runs of its syncs,
 * watch their events, cancel them, read their results. What the CLI does, for a scheduler or a server.
 *
 * @example
 * const project = await loadProject('/srv/reverse-etl');
 * const controller = new RunController();
 * try {
 *   const run = controller.start(project, { syncs: ['users_to_crm'], onEvent: (e) => console.log(e.type) });
 *   const { status, reports } = await run.result;
 * } finally {
 *   await controller.close();
 * }
 */
export { loadProject } from './config/load-project.js';
export type { DatabaseConfig, DestinationConfig, ModelConfig, ProjectConfig, RetryPolicy, SyncConfig, SyncMode } from './config/types.js';
export { UserError } from '../shared/errors.js';
export { RunController } from './run/controller.js';
export type { ControllerOptions, RunHandle, RunOutcome, RunResult, StartOptions } from './run/controller.js';
export { changePause, type PauseRequest } from './run/pause.js';
export type { RunOptions } from './run/run-sync.js';
export type { FailedByClass, PlanCounts, SyncReport } from './run/sync-report.js';
export type {
  DeletesSupersededEvent,
  HealthChangedEvent,
  HealthNotRecordedEvent,
  InvalidRowEvent,
  InvalidRowsMoreEvent,
  ProgressEvent,
  RunEvent,
  RunFailedEvent,
  RunFinishedEvent,
  RunListener,
  RunRefusedEvent,
  RunStartedEvent,
  SyncSkippedEvent,
} from './run/events.js';
export type { DeliveryLogEntry } from './alert/dispatcher.js';
export type { Notification } from './alert/notification.js';
export type { PoolStats } from './execute/worker-pool.js';
export type { DeleteGuardVerdict } from './plan/delete-guard.js';
export type { FailureClass } from '../connectors/destination.js';
export type { RunStatus } from './state/schema.js';
export { syncStatuses, type SyncStatus } from './run/status.js';
export {
  FAILED_ROW_STATUSES,
  retryFailedRows,
  type RetryCandidate,
  type RetryResult,
  type RetrySelection,
} from './run/manual-retry.js';
export { syncIssues, type SyncIssue } from './run/sync-issues.js';
export { ROW_STATUSES, rowsByStatus, type RowState, type RowStatusFilter, type RowsOptions } from './run/row-status.js';
export type { FailedRowStatus } from './state/schema.js';
export type { FailedRowsPolicy } from './config/types.js';
