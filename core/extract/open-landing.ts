/**
 * Opens the landing store of a project for an extract. DuckDB state: the landing file is attached to
 * the state file's instance (one per process), so runs and extracts of one `serve` share one handle of
 * it and never fight over its lock; other processes reach it through the service, as they reach the
 * state. PostgreSQL state with a DuckDB warehouse: the extract opens the file itself, waiting out a
 * reader that holds it (up to LOCK_WAIT_MS).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ProjectConfig } from '../config/types.js';
import { UserError, oneLine } from '../../shared/errors.js';
import { attachLandingSql, LANDED_CATALOG } from '../db/landing-attach.js';
import { DuckDBLanding, PostgresLanding, type LandingStore } from '../db/landing.js';
import { DUCKDB_SESSION_SQL } from '../db/session-settings.js';
import type { StateStore } from '../state/state-store.js';
import { redactUrl } from '../../shared/redact.js';

/** A model read in another process holds the file for seconds; a minute covers a slow one. */
const LOCK_WAIT_MS = 60_000;

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
  const started = Date.now();
  for (;;) {
    try {
      const instance = await DuckDBInstance.create(landing.path);
      const connection = await instance.connect();
      await connection.run(DUCKDB_SESSION_SQL);
      const catalog = String((await connection.runAndReadAll('select current_database()')).getRows()[0][0]);
      const inner = new DuckDBLanding(connection, keys, catalog);
      return {
        prepare: (table, fields) => inner.prepare(table, fields),
        write: (table, fields, rows, ids) => inner.write(table, fields, rows, ids),
        close: async () => {
          await inner.close();
          instance.closeSync();
        },
      };
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (!/lock/i.test(message) || Date.now() - started > LOCK_WAIT_MS) {
        throw new UserError(`cannot open the landing file ${landing.path}: ${oneLine(message)}`, {
          ...where,
          hint: 'stop the process holding it, or fix landing.path.',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
