/** The catalog models read landed tables from, in DuckDB: `select … from landed.contacts`. */
export const LANDED_CATALOG = 'landed';

/** Attaches the landing file as `landed` once per instance (attachments belong to the instance, which concurrent runs share). */
export function attachLandingSql(path: string, readOnly: boolean): string {
  return `attach if not exists '${path.replace(/'/g, "''")}' as ${LANDED_CATALOG}${readOnly ? ' (read_only)' : ''}`;
}
