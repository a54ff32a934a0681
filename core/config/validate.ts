/** Validates a parsed file against a JSON Schema and turns the first violation into a one-line UserError. */
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { clip, maskable } from '../../shared/redact.js';
import { UserError } from '../../shared/errors.js';
import { lazyRequire } from '../../shared/lazy-require.js';
import { closest, unknownKeyHint } from './did-you-mean.js';
import { dottedPath, type YamlSource } from './yaml-source.js';

// strict: false because connector fragments may carry annotation keywords ajv does not know;
// verbose gives each error its parent schema, which lists the allowed keys for "did you mean".
// No code optimisation: every CLI call compiles the schemas once for a few small files, and ajv's optimiser
// took 3/4 of that compile (440 ms against 1,750 ms for the project, sync and model schemas at load 16);
// nor a check of our own static schemas against the meta-schema, half of what was left.
export const AJV_OPTIONS = {
  allErrors: false,
  strict: false,
  verbose: true,
  validateFormats: false,
  validateSchema: false,
  code: { optimize: false },
} satisfies Options;

/** The build's validation functions (precompile-schemas.ts), beside this module in dist/. */
export const PRECOMPILED_FILE = 'schemas.validators.cjs';

/** What the precompiled functions were made with: a file made by another ajv or other options is not used. */
export function precompiledWith(): string {
  return JSON.stringify({ ajv: (require('ajv/package.json') as { version: string }).version, options: AJV_OPTIONS });
}

interface Precompiled {
  texts: string[];
  madeWith: string;
  [name: string]: unknown;
}

const require = createRequire(import.meta.url);
// ajv itself loads only for a schema the build did not compile.
const ajvModule = lazyRequire<typeof import('ajv')>('ajv');
let ajv: import('ajv').Ajv | undefined;
let precompiled: Map<string, ValidateFunction> | undefined;

/** The build's functions by their schema's JSON text; none where the build did not make them (vitest runs the sources). */
function precompiledFunctions(): Map<string, ValidateFunction> {
  if (precompiled) return precompiled;
  precompiled = new Map();
  let module: Precompiled;
  try {
    module = require(`./${PRECOMPILED_FILE}`) as Precompiled;
  } catch {
    return precompiled;
  }
  if (module.madeWith !== precompiledWith()) return precompiled;
  module.texts.forEach((text, i) => precompiled!.set(text, module[`s${i}`] as ValidateFunction));
  return precompiled;
}

const compiled = new Map<string, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key) ?? precompiledFunctions().get(key);
  if (!validate) {
    ajv ??= new (ajvModule().Ajv)(AJV_OPTIONS);
    validate = ajv.compile(schema);
  }
  compiled.set(key, validate);
  return validate;
}

export interface ValidateOptions {
  /** Values from the environment: never shown in a message. */
  secrets: ReadonlySet<string>;
  /** Wording of an unknown key, e.g. `for a file destination`. */
  unknownKeyContext?: string;
}

/** Throws a UserError for the first violation of `schema` by `value` (the substituted value of `source`). */
export function validateWithSchema(schema: object, value: unknown, source: YamlSource, options: ValidateOptions): void {
  const validate = compile(schema);
  if (validate(value)) return;
  // An if/then failure is reported as the `then` error followed by a generic "must match then".
  const error = (validate.errors ?? []).find((e) => e.keyword !== 'if');
  if (error) throw toUserError(error, source, options);
  throw new UserError('is invalid.', { file: source.file, line: 1, hint: 'check the file against the schema.' });
}

function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function typeName(type: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    null: 'empty',
  };
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function typeOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  if (typeof value === 'boolean') return 'true or false';
  return 'a string';
}

/** A value for a message, at most 60 characters; values from the environment are masked, also inside a longer value. */
function show(value: unknown, secrets: ReadonlySet<string>): string {
  if (typeof value === 'string' && secrets.has(value)) return '(value from the environment)';
  return clip(JSON.stringify(value) ?? String(value), 60, maskable(secrets), '...');
}

function toUserError(error: ErrorObject, source: YamlSource, options: ValidateOptions): UserError {
  const path = pointerToPath(error.instancePath);
  const at = (p: string[], hint?: string) => ({
    file: source.file,
    line: source.lineOf(p),
    field: dottedPath(p) || undefined,
    hint,
  });
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as { properties?: Record<string, { enum?: unknown[] }> };

  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const context = options.unknownKeyContext ? ` ${options.unknownKeyContext}` : '';
      return new UserError(`unknown key "${key}"${context}.`, at([...path, key], unknownKeyHint(key, allowed)));
    }
    case 'required': {
      const key = String(params.missingProperty);
      // ajv checks `required` before unknown keys, so a misspelt required key (`destinaton`) would be
      // reported as `destination` missing; name the unknown key and suggest the right one instead.
      const allowed = Object.keys(parent.properties ?? {});
      const data = error.data as Record<string, unknown> | null;
      const unknown = data && typeof data === 'object' ? Object.keys(data).filter((k) => !allowed.includes(k)) : [];
      const typo = unknown.find((k) => closest(k, [key]) === key);
      if (typo !== undefined) {
        const context = options.unknownKeyContext ? ` ${options.unknownKeyContext}` : '';
        return new UserError(`unknown key "${typo}"${context}.`, at([...path, typo], unknownKeyHint(typo, [key])));
      }
      const choices = parent.properties?.[key]?.enum;
      const hint = choices ? `add ${key}: (one of ${choices.join(', ')}).` : `add ${key}: to this file.`;
      // The key does not exist, so point at its parent.
      return new UserError('required key is missing.', { ...at(path, hint), field: dottedPath([...path, key]) });
    }
    case 'type':
      return new UserError(`must be ${typeName(params.type)}, not ${typeOf(error.data)}.`, at(path, 'fix the value.'));
    case 'enum':
    case 'const': {
      const allowed = (error.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue]).map(String);
      const last = path[path.length - 1];
      const what =
        last === 'type' && path[0] === 'destinations'
          ? `unknown destination type ${show(error.data, options.secrets)}`
          : last === 'type' && (path[0] === 'warehouse' || path[0] === 'state')
            ? `unknown database type ${show(error.data, options.secrets)}`
            : `${show(error.data, options.secrets)} is not allowed`;
      return new UserError(`${what}.`, at(path, `use one of: ${allowed.join(', ')}.`));
    }
    case 'minimum':
      return new UserError(`must be at least ${params.limit}.`, at(path, 'raise the value.'));
    case 'maximum':
      return new UserError(`must be at most ${params.limit}.`, at(path, 'lower the value.'));
    case 'minLength':
      return new UserError('must not be empty.', at(path, 'give a value.'));
    case 'minProperties':
      return new UserError(
        'must not be empty.',
        at(path, path[path.length - 1] === 'mapping' ? 'map at least one destination field to a model column.' : 'add an entry.'),
      );
    default:
      return new UserError(`${error.message ?? 'is invalid'}.`, at(path, 'fix the value.'));
  }
}
