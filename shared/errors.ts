/**
 * An error caused by the user's input or environment (config, model, mapping, unreachable service).
 * The CLI prints it as one line, `file:line: field: problem. fix`, with no stack trace, and exits 1.
 */
export class UserError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  readonly hint?: string;

  constructor(message: string, where: { file?: string; line?: number; field?: string; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.hint = where.hint;
  }

  /** The single line shown to the user. */
  format(): string {
    const location = this.file ? `${this.file}${this.line ? `:${this.line}` : ''}: ` : '';
    const field = this.field ? `${this.field}: ` : '';
    const hint = this.hint ? ` ${this.hint}` : '';
    return oneLine(`${location}${field}${this.message}${hint}`);
  }
}

/** Collapses a multi-line message (database errors carry a caret diagram) into one line. */
export function oneLine(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
