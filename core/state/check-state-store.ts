/**
 * `validate`'s check of the state store: usable by a later run, found without writing anything.
 * DuckDB: the file is a DuckDB database, or absent with a writable folder to create it in (a path that
 * is a folder used to pass). PostgreSQL: the server accepts a connection (opened read-only, no migration).
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ProjectConfig } from '../config/types.js';
import { UserError } from '../../shared/errors.js';
import { openStateStore } from './state-store.js';

/** DuckDB files carry the magic `DUCK` at byte offset 8 of their header. */
const DUCKDB_MAGIC = 'DUCK';

export async function checkStateStore(project: ProjectConfig): Promise<void> {
  if (project.state.type === 'postgres') {
    const store = await openStateStore(project, { readOnly: true });
    await store.close();
    return;
  }
  const path = project.state.path;
  if (path === ':memory:') return;
  const where = { file: project.file, line: project.lines?.['state.path'] ?? project.lines?.state, field: 'state.path' };
  const fail = (problem: string, hint: string) => new UserError(problem, { ...where, hint });

  const info = await stat(path).catch(() => undefined);
  if (info) {
    if (!info.isFile()) throw fail(`${path} is not a file.`, 'point state.path at a DuckDB file (it is created by the first run).');
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw fail(`cannot read ${path}: ${error.code ?? error.message}.`, 'give this user read and write access to it.');
    });
    try {
      const header = Buffer.alloc(12);
      const { bytesRead } = await handle.read(header, 0, 12, 0);
      if (bytesRead < 12 || header.subarray(8, 12).toString('latin1') !== DUCKDB_MAGIC) {
        throw fail(`${path} is not a DuckDB database.`, 'point state.path at a DuckDB file, or at a path that does not exist yet.');
      }
    } finally {
      await handle.close();
    }
    await access(path, constants.W_OK).catch(() => {
      throw fail(`${path} is not writable.`, 'give this user write access to it.');
    });
    return;
  }

  // Absent: the run creates it, and the folders above it (mkdir -p); the nearest existing one must be a writable folder.
  let folder = dirname(path);
  for (;;) {
    const above = await stat(folder).catch(() => undefined);
    if (above) {
      if (!above.isDirectory()) throw fail(`${folder} is not a folder, so ${path} cannot be created.`, 'fix state.path.');
      await access(folder, constants.W_OK | constants.X_OK).catch(() => {
        throw fail(`${folder} is not writable, so ${path} cannot be created.`, 'give this user write access, or fix state.path.');
      });
      return;
    }
    const parent = dirname(folder);
    if (parent === folder) return;
    folder = parent;
  }
}
