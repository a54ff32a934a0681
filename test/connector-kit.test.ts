/**
 * The connector kit (connectors/kit/): catalogues with typed codes, the settings readers, and the one
 * WriteTarget builder. The `@ts-expect-error` lines below are the typing test: the first test compiles
 * this file with the project's compiler options, so if a catalogue ever accepted any string those
 * directives would be unused, and tsc reports an unused one as an error.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DestinationError, type WriteTarget } from '../connectors/destination.js';
import { httpCatalogue } from '../connectors/destinations/http/errors.js';
import { pgCatalogue } from '../connectors/destinations/postgres/errors.js';
import { sfCatalogue } from '../connectors/salesforce/errors.js';
import { defineCatalogue } from '../connectors/kit/catalogue.js';
import { targetSettings } from '../connectors/kit/settings.js';
import { buildWriteTarget, keyFieldOf } from '../connectors/kit/write-target.js';
import { syncKey } from '../connectors/destinations/sync-key.js';
import { repoRoot } from './support/project.js';

const thisFile = fileURLToPath(import.meta.url);

const demo = defineCatalogue({
  DEMO_CONFIG: { errorClass: 'fatal', remediation: 'Fix the demo settings.' },
  DEMO_503: { errorClass: 'transient', remediation: 'The demo failed; the rows are retried.' },
  DEMO_ROW: { errorClass: 'rejected', remediation: 'Fix the row.' },
});

/** Never called: each line only has to compile, or (marked) fail to. */
function typing() {
  demo.failure('DEMO_503', 'ok');
  // @ts-expect-error a code outside the catalogue does not compile
  demo.failure('DEMO_404', 'not catalogued');
  // @ts-expect-error nor through error()
  demo.error('DEMO_CONFIGG', 'a typo');
  // @ts-expect-error passthrough takes any vendor code, but classifies it only like a catalogued one
  demo.passthrough('DEMO_XYZ', 'DEMO_XYZ', 'message');
  // @ts-expect-error a plain string is not a code
  demo.failure('DEMO_503' as string, 'widened');
  // @ts-expect-error the connectors' catalogues are typed the same way
  httpCatalogue.failure('HTTP_999', 'x');
  // @ts-expect-error
  pgCatalogue.error('PG_NOPE', 'x');
  // @ts-expect-error
  sfCatalogue.failure('SF_NOT_A_CODE', 'x');
  // @ts-expect-error settings fail with a code of the connector's own catalogue
  targetSettings({} as WriteTarget, demo, 'HTTP_CONFIG');
  expectTypeOf(demo.failure).parameter(0).toEqualTypeOf<'DEMO_CONFIG' | 'DEMO_503' | 'DEMO_ROW'>();
  expectTypeOf(demo.passthrough).parameter(0).toEqualTypeOf<string>();
}
void typing;

function target(overrides: { destination?: Record<string, unknown>; sync?: Record<string, unknown> } = {}): WriteTarget {
  return {
    destination: { name: 'crm', type: 'demo', settings: overrides.destination ?? {} },
    sync: { name: 'people', mode: 'upsert', keyField: 'id', fields: ['id', 'email'], settings: overrides.sync ?? {} },
  };
}

describe('catalogue typing', () => {
  it('compiles this file with no error, so every @ts-expect-error above is an error tsc found', () => {
    const configPath = join(repoRoot, 'tsconfig.json');
    const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
    const program = ts.createProgram([thisFile], { ...parsed.options, noEmit: true });
    const messages = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      );
    expect(messages).toEqual([]);
  });
});

describe('catalogue', () => {
  it("builds a failure from the code's entry", () => {
    expect(demo.failure('DEMO_503', 'down')).toStrictEqual({
      errorClass: 'transient',
      code: 'DEMO_503',
      message: 'down',
      remediation: 'The demo failed; the rows are retried.',
    });
    expect(demo.failure('DEMO_503', 'slow', { retryAfterMs: 1500 }).retryAfterMs).toBe(1500);
    expect(demo.failure('DEMO_CONFIG', 'bad', { remediation: 'Set url.' }).remediation).toBe('Set url.');
  });

  it('keeps a vendor code on the passthrough path, classified like a catalogued one', () => {
    expect(demo.passthrough('DEMO_VENDOR_42', 'DEMO_ROW', 'no')).toStrictEqual({
      errorClass: 'rejected',
      code: 'DEMO_VENDOR_42',
      message: 'no',
      remediation: 'Fix the row.',
    });
  });

  it('throws a DestinationError that spent no API call unless told', () => {
    const error = demo.error('DEMO_CONFIG', 'bad');
    expect(error).toBeInstanceOf(DestinationError);
    expect(error.apiCalls).toBe(0);
    expect(error.failure.code).toBe('DEMO_CONFIG');
    expect(demo.error('DEMO_503', 'down', { apiCalls: 1 }).apiCalls).toBe(1);
  });

  it('refuses, at run time too, a code smuggled past the types', () => {
    expect(() => demo.failure('DEMO_404' as 'DEMO_503', 'x')).toThrow('DEMO_404 is not in the connector');
    expect(demo.has('DEMO_ROW')).toBe(true);
    expect(demo.has('constructor')).toBe(false);
  });

  it('classifies vendor codes as the connectors did: HTTP status ranges, Salesforce record codes', () => {
    expect(httpCatalogue.passthrough('HTTP_502', 'HTTP_5XX', 'm').errorClass).toBe('transient');
    expect(sfCatalogue.failure('SF_UNABLE_TO_LOCK_ROW', 'm').errorClass).toBe('transient');
    expect(pgCatalogue.failure('PG_23503', 'm').errorClass).toBe('needs_change');
  });
});

describe('settings readers', () => {
  const read = (t: WriteTarget) => targetSettings(t, demo, 'DEMO_CONFIG');

  it('reads strings, numbers, booleans and enums, defaults only for absent keys', () => {
    const { destination, sync } = read(target({ destination: { url: 'u', n: 3, flag: true, format: 'csv' }, sync: { table: 't' } }));
    expect(destination.string('url')).toBe('u');
    expect(destination.number('n', { positive: true })).toBe(3);
    expect(destination.boolean('flag')).toBe(true);
    expect(destination.oneOf('format', ['jsonl', 'csv'])).toBe('csv');
    expect(destination.string('schema', { default: 'public' })).toBe('public');
    expect(destination.optionalString('missing')).toBeUndefined();
    expect(sync.string('table')).toBe('t');
  });

  it("fails with the connector's configuration code, the scope and the key", () => {
    const { destination, sync } = read(target({ destination: { n: -1, schema: '', flag: 'yes', format: 'xml' } }));
    const failureOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as DestinationError).failure;
      }
      throw new Error('did not fail');
    };
    expect(failureOf(() => destination.string('url'))).toMatchObject({
      code: 'DEMO_CONFIG',
      errorClass: 'fatal',
      message: 'destination crm: url is required',
      remediation: 'Fix the demo settings.',
    });
    expect(failureOf(() => sync.string('table', { problem: 'is required, e.g. table: people', remediation: 'Set table.' }))).toMatchObject({
      message: 'sync people: table is required, e.g. table: people',
      remediation: 'Set table.',
    });
    expect(failureOf(() => destination.string('schema', { default: 'public' })).message).toBe('destination crm: schema is required');
    expect(failureOf(() => destination.number('n', { positive: true })).message).toBe('destination crm: n must be a positive number');
    expect(failureOf(() => destination.boolean('flag')).message).toBe('destination crm: flag must be true or false');
    expect(failureOf(() => destination.oneOf('format', ['jsonl', 'csv'])).message).toBe(
      'destination crm: format must be one of jsonl, csv',
    );
    expect(
      failureOf(() => {
        throw destination.invalid('url is not a valid URL');
      }).message,
    ).toBe('destination crm: url is not a valid URL');
  });
});

describe('write target', () => {
  const parts = (mapping: Record<string, string>, settings: Record<string, unknown> = {}) => ({
    destination: { name: 'crm', type: 'postgres', settings: { url: 'postgres://x' } },
    sync: { name: 'people', mode: 'upsert' as const, primaryKey: 'user_id', mapping, settings },
  });

  it('maps the primary key to the first destination field that takes it, else to none', () => {
    expect(keyFieldOf({ email: 'email', id: 'user_id', id2: 'user_id' }, 'user_id')).toBe('id');
    expect(keyFieldOf({ email: 'email' }, 'user_id')).toBeNull();
    const built = buildWriteTarget(parts({ email: 'email', id: 'user_id' }));
    expect(built).toStrictEqual({
      destination: { name: 'crm', type: 'postgres', settings: { url: 'postgres://x' } },
      sync: { name: 'people', mode: 'upsert', keyField: 'id', fields: ['email', 'id'], settings: {} },
    });
  });

  it('lets external_id win over the key field when rows are matched', () => {
    expect(syncKey(buildWriteTarget(parts({ email: 'email', id: 'user_id' })))).toEqual({ field: 'id', external: false });
    expect(syncKey(buildWriteTarget(parts({ email: 'email', id: 'user_id' }, { external_id: 'email' })))).toEqual({
      field: 'email',
      external: true,
    });
    expect(syncKey(buildWriteTarget(parts({ email: 'email' })))).toBeNull();
  });
});
