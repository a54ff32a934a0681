/**
 * `${VAR}` and `${VAR:-default}` in YAML string values, replaced after parsing so that line numbers
 * stay those of the file and a value can never break the YAML syntax. `$${` writes a literal `${`.
 *
 * Like the shell, `:-` uses the default when the variable is unset or empty. Substituted values are
 * always strings (a password of digits stays a string); every value taken from the environment is
 * recorded as a secret.
 */
import { UserError } from '../../shared/errors.js';
import { dottedPath, type YamlPath, type YamlSource } from './yaml-source.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns a copy of `source.value` with every reference replaced; adds values read from `env` to `secrets`. */
export function substituteEnv(source: YamlSource, env: NodeJS.ProcessEnv, secrets: Set<string>): unknown {
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') return substituteString(value, env, secrets, source, path);
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      // Null prototype, so a key named `__proto__` stays a key instead of replacing the prototype.
      const out: Record<string, unknown> = Object.create(null);
      for (const [key, item] of Object.entries(value)) out[key] = walk(item, [...path, key]);
      return out;
    }
    return value;
  };
  return walk(source.value, []);
}

function substituteString(text: string, env: NodeJS.ProcessEnv, secrets: Set<string>, source: YamlSource, path: YamlPath): string {
  if (!text.includes('${')) return text;
  const where = () => ({ file: source.file, line: source.lineOf(path), field: dottedPath(path) || undefined });
  const malformed = (detail: string) =>
    new UserError(`malformed environment reference: ${detail}.`, {
      ...where(),
      hint: 'write ${NAME} or ${NAME:-default}; write $${ for a literal ${.',
    });

  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw malformed('missing "}"');
    const body = text.slice(i + 2, end);
    const split = body.indexOf(':-');
    const name = split < 0 ? body : body.slice(0, split);
    const fallback = split < 0 ? undefined : body.slice(split + 2);
    if (!NAME.test(name)) throw malformed(`"${name}" is not a variable name`);
    if (fallback?.includes('${')) throw malformed('nested references are not supported');

    const set = env[name];
    let value: string;
    if (fallback !== undefined && (set === undefined || set === '')) {
      // A default is written in the file, so it is no secret (and masking `out` would garble logs).
      value = fallback;
    } else if (set === undefined) {
      // Never print the value or its neighbours: only the variable's name.
      throw new UserError(`environment variable ${name} is not set.`, {
        ...where(),
        hint: `set ${name} in the environment, or give a default: \${${name}:-value}.`,
      });
    } else {
      value = set;
      if (value !== '') secrets.add(value);
    }
    out += value;
    i = end + 1;
  }
  return out;
}
