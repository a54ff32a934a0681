/** The files of a project folder (`models/`, `syncs/`), grouped by the name they define. */
import { readdir } from 'node:fs/promises';
import { UserError } from '../errors.js';

/** Files of a project folder, by name; an absent folder is an empty one. */
export async function listFolder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
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
