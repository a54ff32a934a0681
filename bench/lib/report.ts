/** Small helpers to turn measurements into the Markdown of bench/RESULTS.md. */
import type { Measured } from './proc.js';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), -Infinity);

export function table(headers: string[], rows: Array<Array<string | number>>): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(String).join(' | ')} |`),
  ];
}

export const rowsLabel = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
export const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
export const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${Math.round(bytes / 2 ** 20)} MiB`);
export const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
export const perSecond = (rows: number, millis: number) => Math.round((rows * 1000) / millis);
export const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/** Peak RSS over several measurements of the same program (the worst run is the honest figure). */
export const peakRss = (runs: Measured[]) => (runs.some((r) => r.maxRss === null) ? null : max(runs.map((r) => r.maxRss!)));
