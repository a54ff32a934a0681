import { UserError, oneLine } from '../../shared/errors.js';

/** The catalog models read landed tables from, in DuckDB: `select … from landed.contacts`. */
export const LANDED_CATALOG = 'landed';

/** Attaches the landing file as `landed` once per instance (attachments belong to the instance, which concurrent runs share). */
export function attachLandingSql(path: string, readOnly: boolean): string {
  return `attach if not exists '${path.replace(/'/g, "''")}' as ${LANDED_CATALOG}${readOnly ? ' (read_only)' : ''}`;
}

/** A model read or a landed page in another process holds the file for seconds; a minute covers a slow one. */
const LOCK_WAIT_MS = 60_000;

/** Retries `open` while another process holds the file's lock, up to LOCK_WAIT_MS. */
export async function waitForLock<T>(
  open: () => Promise<T>,
  path: string,
  where: { file: string; line?: number; field: string },
): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await open();
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (!/lock/i.test(message) || Date.now() - started > LOCK_WAIT_MS) {
        throw new UserError(`cannot open the landing file ${path}: ${oneLine(message)}`, {
          ...where,
          hint: 'stop the process holding it, or fix landing.path.',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
