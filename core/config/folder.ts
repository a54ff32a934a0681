/** The files of a project folder (`models/`, `syncs/`), grouped by the name they define. */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../shared/errors.js';

/**
 * Files of a project folder, by name; an absent folder is an empty one. Symbolic links to files count as
 * files: a Kubernetes ConfigMap mounts each key as `name -> ..data/name`, with `..data` itself a link to
 * a directory. Links to directories are skipped like directories. A dangling link named like a project
 * file (one of `extensions`) is an error; others are ignored, e.g. Emacs' lock links `.#users.yaml`.
 */
export async function listFolder(dir: string, extensions: readonly string[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isSymbolicLink()) {
      const target = await stat(join(dir, entry.name)).catch((error: NodeJS.ErrnoException) => {
        if (entry.name.startsWith('.#') || !extensions.some((e) => entry.name.endsWith(e))) return undefined;
        throw new UserError(`symbolic link ${entry.name} points to nothing (${error.code ?? error.message}).`, {
          file: `${basename(dir)}/${entry.name}`,
          hint: 'fix the link or remove it.',
        });
      });
      if (target?.isFile()) files.push(entry.name);
    }
  }
  return files.sort();
}

/** Groups `<name>.<ext>` files by name; two files for one name (`a.yaml`, `a.yml`) is an error. */
export function byBaseName(names: string[], extensions: string[], folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of names) {
    const ext = extensions.find((e) => name.endsWith(e));
    if (!ext) continue;
    const base = name.slice(0, -ext.length);
    const previous = out.get(base);
    if (previous) {
      throw new UserError(`two files define "${base}": ${folder}/${previous} and ${folder}/${name}.`, {
        file: `${folder}/${name}`,
        hint: 'keep only one of them.',
      });
    }
    out.set(base, name);
  }
  return out;
}
