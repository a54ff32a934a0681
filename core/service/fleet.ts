/**
 * Several `serve` processes on one PostgreSQL state store share the runs through pg-boss, a job queue
 * kept in the state database (its own schema, `scheduler.queue_schema`):
 *
 * - a queue per sync with pg-boss's `stately` policy: at most one job `created` (waiting) and one
 *   `active` per queue, so a trigger while the sync runs queues exactly one follow-up and further
 *   triggers add nothing (the insert meets the policy's unique index and pg-boss drops it);
 * - every process runs the Scheduler; a due slot is enqueued only by the process whose insert of
 *   (sync, slot) into `schedule_claims` lands, so a slot runs once however many processes see it;
 * - a job expires `takeover_seconds` after it started: a killed process's job is then failed by
 *   pg-boss's supervision and retried on a live process. Its advisory lock (core/run/sync-lock.ts)
 *   went with its PG session, so the retry can run at once. A run that is still going when its job
 *   expires keeps the lock: the retry is refused and fails, and pg-boss retries it after `RETRY_DELAY_SECONDS`
 *   until the lock is free; then it finds the finished run its first attempt started (`sync_runs.trigger_id`)
 *   and ends without running the sync again.
 */
import { hostname } from 'node:os';
import PgBoss from 'pg-boss';
import { sql } from 'kysely';
import type { ProjectConfig } from '../config/types.js';
import type { StateStore } from '../state/state-store.js';
import { advisoryLockId } from '../run/sync-lock.js';

/** How long a dead process's sync can stay blocked, and the pg-boss settings that make it so. */
export interface TakeoverTiming {
  expireInSeconds: number;
  /** pg-boss's supervision period, in which it fails expired jobs (one process per period does it). */
  maintenanceIntervalSeconds: number;
  pollingIntervalSeconds: number;
  retryDelaySeconds: number;
  /** The worst case: expiry, then up to two supervision periods (the one that was due may have been the dead process's), a retry delay and a poll. */
  worstCaseSeconds: number;
}

/** A refused retry (the sync still runs elsewhere) waits this long before the next try. */
const RETRY_DELAY_SECONDS = 1;
/** Each process polls each sync's queue this often: an idle fleet of 10 syncs and 3 processes makes 15 cheap queries a second. */
const POLLING_INTERVAL_SECONDS = 2;
/** Retried until the sync's lock is free; pg-boss needs a limit, and this one outlasts any run. */
const RETRY_LIMIT = 1_000_000;

export function takeoverTiming(takeoverSeconds: number): TakeoverTiming {
  // A tenth of the expiry, between 1 s and a minute: a 120 s takeover is supervised every 12 s.
  const maintenanceIntervalSeconds = Math.min(60, Math.max(1, Math.ceil(takeoverSeconds / 10)));
  return {
    expireInSeconds: takeoverSeconds,
    maintenanceIntervalSeconds,
    pollingIntervalSeconds: POLLING_INTERVAL_SECONDS,
    retryDelaySeconds: RETRY_DELAY_SECONDS,
    worstCaseSeconds: takeoverSeconds + 2 * maintenanceIntervalSeconds + RETRY_DELAY_SECONDS + POLLING_INTERVAL_SECONDS,
  };
}

export interface FleetOptions {
  project: ProjectConfig & { state: { type: 'postgres'; url: string } };
  store: StateStore;
  /** Runs the sync; rejects when it must be tried again later (already running elsewhere, or this process is full). */
  runJob(sync: string, reason: string, job: FleetJob): Promise<void>;
  onError(error: Error): void;
}

/** What a run needs to know of the job that asked for it. */
export interface FleetJob {
  id: string;
  /** 0 the first time; more after an expiry (a killed process, or a run longer than `takeover_seconds`) or a refusal. */
  retryCount: number;
}

export type EnqueueOutcome = 'queued' | 'coalesced';

/** A queue name per sync; pg-boss keeps each queue in its own table, named from a hash of this. */
const queueOf = (sync: string) => `sync-${sync}`;

export class Fleet {
  readonly timing: TakeoverTiming;
  private readonly boss: PgBoss;
  private readonly worker = `${hostname()}:${process.pid}`;

  constructor(private readonly options: FleetOptions) {
    const { service } = options.project;
    this.timing = takeoverTiming(service.takeoverSeconds);
    this.boss = new PgBoss({
      connectionString: options.project.state.url,
      schema: service.queueSchema,
      // Workers poll on their own connections; one per sync would be too many for a large project.
      max: 4,
      supervise: true,
      schedule: false,
      maintenanceIntervalSeconds: this.timing.maintenanceIntervalSeconds,
    });
    this.boss.on('error', (error) => options.onError(error));
  }

  /** Creates the schema and the queues if missing, then works every sync's queue, one job at a time. */
  async start(): Promise<void> {
    await this.boss.start();
    await this.withQueueLock(async () => {
      for (const sync of Object.keys(this.options.project.syncs)) {
        const name = queueOf(sync);
        const settings = {
          name,
          policy: 'stately' as const,
          expireInSeconds: this.timing.expireInSeconds,
          retryLimit: RETRY_LIMIT,
          retryDelay: this.timing.retryDelaySeconds,
          retryBackoff: false,
        };
        // create_queue inserts with on conflict do nothing, and a changed takeover_seconds reaches
        // the existing queue through the update.
        await this.boss.createQueue(name, settings);
        await this.boss.updateQueue(name, settings);
      }
    });
    for (const sync of Object.keys(this.options.project.syncs)) {
      await this.boss.work<{ reason: string }>(
        queueOf(sync),
        { batchSize: 1, pollingIntervalSeconds: this.timing.pollingIntervalSeconds, includeMetadata: true },
        async ([job]) => this.options.runJob(sync, job.data.reason, { id: job.id, retryCount: job.retryCount }),
      );
    }
  }

  /**
   * pg-boss's create_queue inserts the queue's row, then adds a foreign key to that table in the same
   * transaction; two processes creating one new queue at once deadlock (40P01: the second's insert waits
   * for the first's row, the first's foreign key for the second's insert). Processes starting together
   * therefore create their queues one after the other, under a session lock on the state connection
   * keyed by the queue schema; a process finding the queues made waits milliseconds.
   */
  private async withQueueLock(body: () => Promise<void>): Promise<void> {
    const id = advisoryLockId(`hightouch-like-queues:${this.options.project.service.queueSchema}`).toString();
    await this.options.store.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${id}::bigint)`.execute(conn);
      try {
        await body();
      } finally {
        await sql`select pg_advisory_unlock(${id}::bigint)`.execute(conn);
      }
    });
  }

  /**
   * Claims a slot for this process: true when no other process has, so this one enqueues its run.
   * The row stays, so a process that sees the slot later (a slow start) finds it taken.
   */
  async claimSlot(sync: string, slotAt: Date): Promise<boolean> {
    const inserted = await sql<{ sync_name: string }>`
      insert into schedule_claims (sync_name, slot_at, claimed_by, claimed_at)
      values (${sync}, ${slotAt.toISOString()}, ${this.worker}, ${new Date().toISOString()})
      on conflict do nothing
      returning sync_name`.execute(this.options.store.db);
    return inserted.rows.length === 1;
  }

  /** Asks the fleet for a run; `coalesced` when one already waits (the stately policy refused the job). */
  async enqueue(sync: string, reason: string): Promise<EnqueueOutcome> {
    const id = await this.boss.send(queueOf(sync), { reason });
    return id === null ? 'coalesced' : 'queued';
  }

  /** Stops polling and waits (up to 30 s) for the handlers running, which the service has cancelled. */
  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 });
  }
}
