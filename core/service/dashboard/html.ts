/**
 * HTML built by a tagged template that escapes every interpolated value: a key or an error message a
 * destination sent (`<script>`, quotes, `&`) is text, never markup. Only `Html` values (made by this
 * template) pass through as they are, so nothing unescaped can be passed by accident.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

type Value = Html | string | number | boolean | null | undefined | Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** A JSON value inside `<script type="application/json">`: `<` escaped so `</script>` in a value cannot end it. */
export function jsonScript(id: string, value: unknown): Html {
  const json = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

/** A query string from set values only, each encoded. */
export function query(params: Record<string, string | undefined | null>): string {
  const set = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== null && e[1] !== '');
  return set.length ? `?${new URLSearchParams(set).toString()}` : '';
}
