/** Query results as an aligned text table or CSV. */
import { csvLine } from '../../shared/csv-line.js';

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatTable(columns: string[], rows: unknown[][]): string {
  const text = rows.map((row) => row.map(cell));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...text.map((r) => r[i].length))));
  const fit = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const line = (values: string[]) =>
    values
      .map((v, i) => fit(v, widths[i]))
      .join(' | ')
      .trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...text.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

export function formatCsv(columns: string[], rows: unknown[][]): string {
  return csvLine(columns) + rows.map((row) => csvLine(row)).join('');
}
