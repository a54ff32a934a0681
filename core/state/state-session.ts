/**
 * The state store's PostgreSQL session is the run's: it holds the sync's advisory lock and the plan's
 * temp table `ht_plan`. If it ends mid-run (server restart, pg_terminate_backend, network cut), the pool
 * quietly opens a new one on the next query, where the lock is gone and `ht_plan` does not exist. So the
 * run remembers its session's backend pid and checks it before every commit and when anything fails,
 * turning "relation ht_plan does not exist" or "Connection terminated" into one clear error.
 * An embedded DuckDB state store has no session to lose.
 */
import { sql } from 'kysely';
import { oneLine } from '../../shared/errors.js';
import type { StateStore } from './state-store.js';

export class StateConnectionLost extends Error {
  constructor(reason: string) {
    super(`lost the connection to the state store (${reason}); the rows in flight are re-sent by the next run`);
    this.name = 'StateConnectionLost';
  }
}

export interface StateSession {
  /** Throws StateConnectionLost once the session the run started on has ended. */
  assertAlive(): Promise<void>;
  /** The error to report for `error`: StateConnectionLost if the session has ended meanwhile, else `error`. */
  explain(error: unknown): Promise<unknown>;
}

const backendPid = async (store: StateStore) =>
  Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0].pid);

export async function watchStateSession(store: StateStore): Promise<StateSession> {
  if (store.dialect !== 'postgres') return { assertAlive: async () => {}, explain: async (error) => error };
  const pid = await backendPid(store);
  const lost = async (): Promise<StateConnectionLost | null> => {
    let now: number;
    try {
      now = await backendPid(store);
    } catch (error) {
      return new StateConnectionLost(oneLine((error as Error)?.message ?? String(error)));
    }
    return now === pid ? null : new StateConnectionLost(`PostgreSQL session ${pid} ended`);
  };
  return {
    async assertAlive() {
      const error = await lost();
      if (error) throw error;
    },
    async explain(error) {
      if (error instanceof StateConnectionLost) return error;
      return (await lost()) ?? error;
    },
  };
}
