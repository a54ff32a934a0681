/**
 * Checks that a model file holds exactly one SQL statement, without a database.
 *
 * A small scanner that knows quotes, comments and PostgreSQL dollar quotes, so a `;` inside
 * a string or comment is not taken for the end of the statement.
 */

export type StatementCheck =
  | { ok: true; sql: string }
  | { ok: false; problem: 'empty' }
  | { ok: false; problem: 'multiple'; line: number };

/**
 * The statement with its terminating `;` and everything after it (whitespace, comments) removed.
 * Leading text is kept, so line N of the SQL is line N of the file in database error messages;
 * trailing comments go, so the SQL can be wrapped as `(... )` without a `--` swallowing the paren.
 */
export function singleStatement(text: string): StatementCheck {
  let i = 0;
  let end = -1; // just past the last significant character of the statement
  let terminated = false;
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;

  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
      continue;
    }
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === ';') {
      terminated = true;
      i += 1;
      continue;
    }
    if (terminated) return { ok: false, problem: 'multiple', line: lineAt(i) };

    if (c === "'" || c === '"' || c === '`') {
      // A doubled quote re-enters the quoted text on the next pass, so '' escapes need no special case.
      const close = text.indexOf(c, i + 1);
      i = close < 0 ? text.length : close + 1;
    } else if (c === '$') {
      // `$tag$` opens a dollar quote unless it continues an identifier (`a$b$` is a name).
      const inWord = i > 0 && /[A-Za-z0-9_$]/.test(text[i - 1]);
      const tag = inWord ? null : /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? text.length : close + tag[0].length;
      } else {
        i += 1;
      }
    } else {
      i += 1;
    }
    end = i;
  }
  if (end < 0) return { ok: false, problem: 'empty' };
  return { ok: true, sql: text.slice(0, end).trimEnd() };
}
