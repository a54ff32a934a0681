/**
 * `check` of the file destination: the output folder can be written, without creating it (validate and
 * plan write nothing; the first write creates it). An absent folder is fine when its nearest existing
 * ancestor is a writable folder, since `mkdir -p` will then succeed.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path}`), { code, path });
}

/** Resolves when `dir` exists as a writable folder, or could be created; else rejects with an errno error. */
export async function checkWritableFolder(dir: string): Promise<void> {
  let path = dir;
  for (;;) {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw errno('ENOTDIR', path);
      await access(path, constants.W_OK | constants.X_OK);
      return;
    }
    const parent = dirname(path);
    if (parent === path) throw errno('ENOENT', dir);
    path = parent;
  }
}
