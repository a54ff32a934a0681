/**
 * Reading a connector's settings out of a WriteTarget: `destination.<name>` keys of the project file
 * and the connector's keys of a sync file. A bad value becomes a DestinationError with the connector's
 * own configuration code (`HTTP_CONFIG`, `PG_CONFIG`, …), its message prefixed `destination <name>: `
 * or `sync <name>: ` and spending no API call.
 *
 * The JSON schemas have already refused wrong types and unknown keys when a project is loaded; these
 * readers are the connector's own guard, for targets built by hand (tests, the worker boundary) and
 * for rules a schema cannot say (a URL that parses, a token given together with its client id).
 */
import type { DestinationError, WriteTarget } from '../destination.js';
import type { FailureCatalogue } from './catalogue.js';

interface ReadOptions<T> {
  /** Used when the key is absent (undefined); a present but invalid value is still an error. */
  default?: T;
  /** Replaces the text after the key in the message, e.g. `is required (give it as ${TOKEN})`. */
  problem?: string;
  /** Replaces the configuration code's remediation sentence. */
  remediation?: string;
}

export interface SettingsReader {
  /** The raw value, for rules the readers below do not cover. */
  value(key: string): unknown;
  /** A non-empty string, else undefined (absent, empty or not a string). */
  optionalString(key: string): string | undefined;
  /** A non-empty string (`allowEmpty` admits ""). Default problem: `is required`. */
  string(key: string, options?: ReadOptions<string> & { allowEmpty?: boolean }): string;
  /** A finite number (`positive`: above 0). Default problem: `must be a number`. */
  number(key: string, options?: ReadOptions<number> & { positive?: boolean }): number;
  /** Default problem: `must be true or false`. */
  boolean(key: string, options?: ReadOptions<boolean>): boolean;
  /** One of `values`. Default problem: `must be one of a, b`. */
  oneOf<const T extends string>(key: string, values: readonly T[], options?: ReadOptions<T>): T;
  /** A DestinationError for this scope, for `throw`: `invalid('url is not a valid URL')`. */
  invalid(problem: string, remediation?: string): DestinationError;
}

export interface TargetSettings {
  /** `destinations.<name>` in the project file. */
  destination: SettingsReader;
  /** The connector's keys of `syncs/<name>.yaml`. */
  sync: SettingsReader;
}

/** Readers over both scopes of `target`, failing with `configCode` from `catalogue`. */
export function targetSettings<Code extends string>(
  target: WriteTarget,
  catalogue: FailureCatalogue<Code>,
  configCode: Code,
): TargetSettings {
  const reader = (scope: string, settings: Record<string, unknown>) =>
    settingsReader(settings, (problem, remediation) =>
      catalogue.error(configCode, `${scope}: ${problem}`, remediation === undefined ? {} : { remediation }),
    );
  return {
    destination: reader(`destination ${target.destination.name}`, target.destination.settings),
    sync: reader(`sync ${target.sync.name}`, target.sync.settings),
  };
}

export type Invalid = (problem: string, remediation?: string) => DestinationError;

export function settingsReader(settings: Record<string, unknown>, invalid: Invalid): SettingsReader {
  // Own keys only: a setting named `constructor` must not find Object.prototype's.
  const value = (key: string): unknown => (Object.hasOwn(settings, key) ? settings[key] : undefined);

  function read<T>(key: string, options: ReadOptions<T>, accept: (v: unknown) => v is T, problem: string): T {
    const raw = value(key);
    if (raw === undefined && options.default !== undefined) return options.default;
    if (accept(raw)) return raw;
    throw invalid(`${key} ${options.problem ?? problem}`, options.remediation);
  }

  return {
    value,
    optionalString(key) {
      const raw = value(key);
      return typeof raw === 'string' && raw !== '' ? raw : undefined;
    },
    string(key, options = {}) {
      const accept = (v: unknown): v is string => typeof v === 'string' && (options.allowEmpty === true || v !== '');
      return read(key, options, accept, 'is required');
    },
    number(key, options = {}) {
      const accept = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && (options.positive !== true || v > 0);
      return read(key, options, accept, options.positive ? 'must be a positive number' : 'must be a number');
    },
    boolean(key, options = {}) {
      return read(key, options, (v): v is boolean => typeof v === 'boolean', 'must be true or false');
    },
    oneOf(key, values, options = {}) {
      const accept = (v: unknown): v is (typeof values)[number] => typeof v === 'string' && values.includes(v as never);
      return read(key, options, accept, `must be one of ${values.join(', ')}`);
    },
    invalid,
  };
}
