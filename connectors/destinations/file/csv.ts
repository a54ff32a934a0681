/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvLine(values: unknown[]): string {
  return values.map(csvField).join(',') + '\n';
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
