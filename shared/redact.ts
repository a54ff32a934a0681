/**
 * Masks secrets out of text bound for a log line, an error or a state row: one rule for the core and
 * every connector.
 *
 * A secret is masked in every form a receiver or a log may echo it in (`formsOf`): raw, JSON-escaped,
 * percent-encoded. Base64 is not looked for: no connector builds a Basic header from a secret, and a
 * header written whole in the config is itself the secret.
 *
 * Text is cut only after masking (`clip`), so a cut never leaves part of a secret. A text that ends with
 * the first 8 or more characters of a secret, or starts with its last 8 or more, was cut by someone else
 * (a receiver, a driver): that piece is masked too.
 */

export const MASK = '***';

/**
 * Environment values shorter than this are not masked: "500" or "true" would garble every message that
 * holds them, and 3 characters give little away.
 */
export const MIN_SECRET_CHARS = 4;

/** A piece of a secret this long at a text's edge is masked: 8 of a 32-character token is a quarter of it. */
const MIN_PIECE_CHARS = 8;

/** The values worth masking, in their order: non-empty and at least `MIN_SECRET_CHARS` long. */
export function maskable(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((value) => value.length >= MIN_SECRET_CHARS);
}

/** Masks every given secret (whatever its length: the caller chose it) and the password of every URL. */
export function redact(text: string, secrets: Iterable<string>): string {
  // Longest first, so a secret that contains another is masked whole.
  const forms = [...new Set(secrets)]
    .filter((s) => s !== '')
    .flatMap(formsOf)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = out.split(form).join(MASK);
  for (const form of forms) out = maskEdgePieces(out, form);
  return redactUrlPasswords(out);
}

/**
 * Masks, then cuts to at most `maxChars` (ending with `marker` when cut). The cut never shows part of
 * a secret: the whole text is masked first, and a piece left at the cut edge is masked again.
 */
export function clip(text: string, maxChars: number, secrets: Iterable<string>, marker = ''): string {
  const list = [...secrets];
  const masked = redact(text, list);
  if (masked.length <= maxChars) return masked;
  return redact(masked.slice(0, Math.max(0, maxChars - marker.length)), list) + marker;
}

/** The URL with its password masked: `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  return redactUrlPasswords(url);
}

/**
 * `scheme://user:password@host`: as in a WHATWG URL, the authority ends at the first `/`, `?` or `#`
 * and the user info at its last `@`, so a password holding a raw `@` or `:` is masked whole.
 */
function redactUrlPasswords(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)/gi, (whole, scheme: string, authority: string) => {
    const at = authority.lastIndexOf('@');
    if (at < 0) return whole;
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    if (colon < 0) return whole;
    return `${scheme}${userInfo.slice(0, colon)}:${MASK}${authority.slice(at)}`;
  });
}

/** A text ending with the first 8+ characters of `form`, or starting with its last 8+, has that piece masked. */
function maskEdgePieces(text: string, form: string): string {
  if (form.length <= MIN_PIECE_CHARS) return text;
  let out = text;
  const head = form.slice(0, MIN_PIECE_CHARS);
  for (let at = out.indexOf(head, Math.max(0, out.length - form.length)); at >= 0; at = out.indexOf(head, at + 1)) {
    if (form.startsWith(out.slice(at))) {
      out = out.slice(0, at) + MASK;
      break;
    }
  }
  const tail = form.slice(-MIN_PIECE_CHARS);
  for (let at = out.lastIndexOf(tail, form.length - MIN_PIECE_CHARS); at >= 0; at = out.lastIndexOf(tail, at - 1)) {
    const end = at + MIN_PIECE_CHARS;
    if (form.endsWith(out.slice(0, end))) {
      out = MASK + out.slice(end);
      break;
    }
    if (at === 0) break;
  }
  return out;
}

// A run holds a handful of secrets; the bound only guards against a client that refreshes tokens forever.
const CACHE_LIMIT = 256;
const cache = new Map<string, string[]>();

/**
 * The ways a secret is written where it may be echoed: raw; JSON-escaped, once or twice, and with `\uXXXX`
 * for non-ASCII and `<>&'` as Python and Go write JSON; percent-encoded by encodeURIComponent (hex in either
 * case), encodeURI, a form (`+` for a space), and a URL's user info and query.
 */
function formsOf(secret: string): string[] {
  let forms = cache.get(secret);
  if (forms) return forms;
  const json = (s: string) => JSON.stringify(s).slice(1, -1);
  const asciiJson = json(secret).replace(/[^\x20-\x7e]|[<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  forms = [...new Set([secret, json(secret), json(json(secret)), asciiJson, ...percentForms(secret)])];
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(secret, forms);
  return forms;
}

function percentForms(secret: string): string[] {
  try {
    const component = encodeURIComponent(secret);
    const url = new URL('http://host/');
    url.password = secret;
    const userInfo = url.password;
    url.search = secret;
    return [
      component,
      component.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      encodeURI(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      userInfo,
      url.search.slice(1),
    ];
  } catch {
    // A lone UTF-16 surrogate cannot be percent-encoded, so it is never sent that way either.
    return [];
  }
}
