/**
 * Text a destination sent (error messages, codes) is made storable before it reaches the state tables:
 * PostgreSQL `text` cannot hold NUL, DuckDB's JSON reader refuses a lone UTF-16 surrogate, and a
 * receiver may answer with a whole HTML page. Either used to fail the commit, and with it the run.
 */

/** Longest text kept, in UTF-16 code units, the ellipsis included: enough for any real error message. */
export const MAX_STORED_TEXT = 1000;

/** Line breaks and tabs become spaces; other C0 controls and DEL become U+FFFD, so their place shows. */
const LINE_BREAKS = /[\t\n\r]/g;
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storableText(text: string, max = MAX_STORED_TEXT): string {
  let out = text.replace(LINE_BREAKS, ' ').replace(CONTROLS, '\ufffd');
  if (out.length > max) out = `${out.slice(0, max - 1)}…`;
  // After the cut, which may have split a surrogate pair.
  return out.replace(LONE_SURROGATE, '\ufffd');
}

/** LONE_SURROGATE without the global flag, whose `test` keeps no position between calls. */
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/** Whether `text` is well-formed UTF-16: text kept as given (a destination's record id) must be. */
export function isWellFormedText(text: string): boolean {
  return !HAS_LONE_SURROGATE.test(text);
}
