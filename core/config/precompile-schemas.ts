/**
 * Build step (`npm run build`, after tsc): compiles every schema the config loader validates against
 * into one CommonJS module of validation functions (ajv's standalone code), which validate.ts loads
 * instead of compiling at each CLI start (ajv and its compile were about 55 ms of every start).
 *
 *   node dist/core/config/precompile-schemas.js
 *
 * Each function is stored with its schema's JSON text, and the file with ajv's version and options:
 * validate.ts uses one only for a schema of that exact text, made with the same ajv and options, so a
 * build that did not run this step, or ran it before a schema or an option changed, still compiles at
 * start (as `vitest` over the TypeScript sources does).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { allSchemas } from './schemas.js';
import { AJV_OPTIONS, PRECOMPILED_FILE, precompiledWith } from './validate.js';

const schemas = allSchemas();
const ajv = new Ajv({ ...AJV_OPTIONS, code: { ...AJV_OPTIONS.code, source: true } });
const names: Record<string, string> = {};
schemas.forEach((schema, i) => {
  ajv.addSchema(schema, `s${i}`);
  names[`s${i}`] = `s${i}`;
});
const code = standaloneCode.default(ajv, names);
const texts = `module.exports.texts = ${JSON.stringify(schemas.map((schema) => JSON.stringify(schema)))};\n`;
const madeWith = `module.exports.madeWith = ${JSON.stringify(precompiledWith())};\n`;
writeFileSync(join(dirname(fileURLToPath(import.meta.url)), PRECOMPILED_FILE), `${code}\n${madeWith}${texts}`);
