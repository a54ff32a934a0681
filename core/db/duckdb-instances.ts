/**
 * One DuckDB instance per state file per process, shared by reference count. DuckDB's file lock is a
 * POSIX record lock, which never conflicts within a process: a second `DuckDBInstance.create` on the
 * same file opens a second, independent writer with its own buffer pool and WAL, and two of them
 * writing corrupt the file. `serve` runs up to `scheduler.max_parallel` syncs at once, each opening
 * the state store, so each gets a connection of the one instance instead: temp tables and views (the
 * plan's `ht_plan`, `ht_model`, `ht_diff`, the model view) and `USE` are per connection, so runs
 * cannot see each other's; attached databases are per instance (see `attach if not exists`).
 *
 * A process that opens the file once at a time (every CLI command) creates and closes the instance
 * around each open, as before.
 */
import { DuckDBInstance } from './duckdb-api.js';
import './duckdb-text.js';

interface SharedInstance {
  instance: DuckDBInstance;
  readOnly: boolean;
  refs: number;
}

const instances = new Map<string, SharedInstance>();

export interface InstanceLease {
  instance: DuckDBInstance;
  /** Drops this lease; the last one closes the instance. Idempotent. */
  release(): void;
}

/**
 * A lease on the instance of `path`. A read-write instance also serves read-only opens; a read-only
 * one cannot serve a writer, which then gets an instance of its own, outside the registry (a CLI
 * process never holds both). `:memory:` is never shared: each such open is a database of its own.
 */
export async function leaseDuckDBInstance(path: string, readOnly: boolean): Promise<InstanceLease> {
  const shared = path === ':memory:' ? undefined : instances.get(path);
  if (shared && (!shared.readOnly || readOnly)) {
    shared.refs++;
    return lease(path, shared);
  }
  const instance = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  if (shared || path === ':memory:') {
    let released = false;
    return {
      instance,
      release() {
        if (released) return;
        released = true;
        instance.closeSync();
      },
    };
  }
  const entry: SharedInstance = { instance, readOnly, refs: 1 };
  instances.set(path, entry);
  return lease(path, entry);
}

function lease(path: string, entry: SharedInstance): InstanceLease {
  let released = false;
  return {
    instance: entry.instance,
    release() {
      if (released) return;
      released = true;
      if (--entry.refs > 0) return;
      if (instances.get(path) === entry) instances.delete(path);
      entry.instance.closeSync();
    },
  };
}
