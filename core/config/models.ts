/** `models/<name>.sql` (one query, checked by the warehouse) with optional `models/<name>.yaml` metadata. */
import { join } from 'node:path';
import { UserError } from '../../shared/errors.js';
import type { ModelConfig } from './types.js';
import { substituteEnv } from './env-substitution.js';
import { byBaseName, listFolder } from './folder.js';
import { modelJsonSchema } from './schemas.js';
import { isBlankSql } from './sql-statement.js';
import { readTextFile } from './text-file.js';
import { validateWithSchema } from './validate.js';
import { readYaml } from './yaml-source.js';

export async function loadModels(dir: string, env: NodeJS.ProcessEnv, secrets: Set<string>): Promise<Record<string, ModelConfig>> {
  const names = await listFolder(join(dir, 'models'), ['.sql', '.yaml', '.yml']);
  const sqlFiles = byBaseName(names, ['.sql'], 'models');
  const metaFiles = byBaseName(names, ['.yaml', '.yml'], 'models');

  for (const [name, metaName] of metaFiles) {
    if (!sqlFiles.has(name)) {
      throw new UserError('has no SQL file.', {
        file: `models/${metaName}`,
        hint: `create models/${name}.sql, or remove models/${metaName}.`,
      });
    }
  }

  // Null prototype: a model named `constructor` or `__proto__` must be looked up as a name, nothing else.
  const models: Record<string, ModelConfig> = Object.create(null);
  for (const [name, sqlName] of sqlFiles) {
    const file = `models/${sqlName}`;
    const text = await readTextFile(join(dir, file), file);
    // Whether the text is exactly one query is the warehouse's call, at validate, plan and run.
    if (isBlankSql(text)) {
      throw new UserError('the model is empty.', { file, line: 1, hint: 'write one SELECT statement.' });
    }
    const model: ModelConfig = { name, file, sql: text.trimEnd() };

    const metaName = metaFiles.get(name);
    if (metaName) {
      const metaFile = `models/${metaName}`;
      const source = await readYaml(join(dir, metaFile), metaFile);
      const value = substituteEnv(source, env, secrets) ?? {};
      validateWithSchema(modelJsonSchema(), value, source, { secrets });
      const meta = value as { primary_key?: string };
      if (meta.primary_key !== undefined) model.primary_key = meta.primary_key;
    }
    models[name] = model;
  }
  return models;
}
