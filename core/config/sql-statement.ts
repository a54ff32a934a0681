/**
 * The one check of SQL text made without a database: does it hold anything but whitespace and comments?
 *
 * Whether the text is exactly one query is decided by the database's own parser (the warehouse for a
 * model, the state store for `query`), never here: a hand-written scanner disagrees with the engine on
 * quoting (`E'\''` in PostgreSQL) and nesting (`/* /* *\/ *\/` in both engines). This check can only
 * refuse, and it cannot be fooled into hiding a statement: both engines end a comment no earlier than
 * this reading does (block comments nest there), so text that is blank here is blank to them too.
 */
export function isBlankSql(text: string): boolean {
  return firstTokenOffset(text) < 0;
}

/** Offset of the first character outside whitespace and comments, or -1. Used for messages only. */
export function firstTokenOffset(text: string): number {
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('--', i)) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol + 1;
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else if (/\s/.test(text[i])) {
      i += 1;
    } else {
      return i;
    }
  }
  return -1;
}

/** The leading keyword of a statement, upper-cased, for messages such as "got COPY". */
export function leadingKeyword(text: string): string {
  const start = firstTokenOffset(text);
  const word = start < 0 ? null : /^[A-Za-z_]+/.exec(text.slice(start));
  return word ? word[0].toUpperCase() : 'no statement';
}
