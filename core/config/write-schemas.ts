/**
 * Writes `schemas/*.schema.json` from the registered connectors; rerun after adding or changing one:
 *   npm run build && node dist/core/config/write-schemas.js [output-dir]
 * A test fails while the committed files differ from the generated ones.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFiles } from './schemas.js';

/** The package root, found upwards so the script works from `core/` and from `dist/core/`. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above write-schemas');
    dir = up;
  }
  return dir;
}

const outDir = process.argv[2] ? resolve(process.argv[2]) : join(packageRoot(), 'schemas');
await mkdir(outDir, { recursive: true });
for (const [name, text] of Object.entries(schemaFiles())) {
  await writeFile(join(outDir, name), text);
  console.log(`wrote ${join(outDir, name)}`);
}
