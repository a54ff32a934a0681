/**
 * Opens the landing store of a project for an extract. DuckDB state: the landing file is attached to
 * the state file's instance (one per process), so runs and extracts of one `serve` share one handle of
 * it and never fight over its lock; other processes reach it through the service, as they reach the
 * state. PostgreSQL state with a DuckDB warehouse: the extract opens the file itself, waiting out a
 * reader that holds it (core/db/landing-attach.ts), and holds it only while it lands a page.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance } from '../db/duckdb-api.js';
import '../db/duckdb-text.js';
import type { ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { attachLandingSql, LANDED_CATALOG, waitForLock } from '../db/landing-attach.js';
import { DuckDBLanding, PostgresLanding, type LandingStore } from '../db/landing.js';
import { DUCKDB_SESSION_SQL } from '../db/session-settings.js';
import type { StateStore } from '../state/state-store.js';
import { redactUrl } from '../../shared/redact.js';

export interface LandingKeys {
  idField: string;
  stampField: string;
}

export async function openLanding(project: ProjectConfig, store: StateStore, keys: LandingKeys): Promise<LandingStore> {
  const landing = project.landing;
  const where = { file: project.file, line: project.lines?.landing ?? project.lines?.warehouse, field: 'landing' };
  if (landing.type === 'postgres') {
    try {
      return await PostgresLanding.open(landing.url, landing.schema, keys);
    } catch (error) {
      throw new UserError(
        `cannot open the landing schema ${landing.schema} at ${redactUrl(landing.url)}: ${oneLine((error as Error).message)}`,
        {
          ...where,
          hint: 'give landing.url a role that may create tables in the schema, or start the server.',
        },
      );
    }
  }
  await mkdir(dirname(landing.path), { recursive: true });
  if (store.duckdb) {
    const connection = await store.duckdb.connect();
    await connection.run(DUCKDB_SESSION_SQL);
    await connection.run(attachLandingSql(landing.path, false));
    return new DuckDBLanding(connection, keys, LANDED_CATALOG);
  }
  // Opened for each call only: between pages, a model read of another process may attach the file.
  const withFile = async <T>(work: (landing: DuckDBLanding) => Promise<T>): Promise<T> => {
    const instance = await waitForLock(() => DuckDBInstance.create(landing.path), landing.path, where);
    const connection = await instance.connect();
    try {
      await connection.run(DUCKDB_SESSION_SQL);
      const catalog = String((await connection.runAndReadAll('select current_database()')).getRows()[0][0]);
      return await work(new DuckDBLanding(connection, keys, catalog));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  };
  return {
    prepare: (table, fields) => withFile((l) => l.prepare(table, fields)),
    write: (table, fields, rows, ids) => withFile((l) => l.write(table, fields, rows, ids)),
    close: async () => {},
  };
}
