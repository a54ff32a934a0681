/**
 * Reads one project file as text, refusing what would be silently mangled or cost too much: files over
 * the size limit (checked before reading) and bytes that are not UTF-8 (Node's `utf8` decoding would
 * turn them into U+FFFD and carry on).
 */
import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../../shared/errors.js';

/**
 * 1 MiB per file. The largest real config file is a few KB; parsing YAML costs about 40 times its size
 * in memory (a 50 MB file took 1.9 GB), so this bounds one file at about 40 MB.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's text without a leading BOM, or a UserError naming `file` (and the line of a bad byte). */
export async function readTextFile(absolutePath: string, file: string): Promise<string> {
  const info = await stat(absolutePath).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read the file: ${error.code ?? error.message}.`, { file, hint: 'check that it exists and is readable.' });
  });
  if (!info.isFile()) throw new UserError('is not a regular file.', { file, hint: 'replace it with a file, or remove it.' });
  if (info.size > MAX_FILE_BYTES) {
    throw new UserError(`the file is ${info.size} bytes, over the limit of ${MAX_FILE_BYTES} (1 MiB).`, {
      file,
      hint: 'split it, or move data out of the config (models read tables and files through the warehouse).',
    });
  }
  const bytes = await readFile(absolutePath);
  try {
    return strictUtf8.decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new UserError('the file is not valid UTF-8.', {
      file,
      line: firstBadLine(bytes),
      hint: 'save it as UTF-8.',
    });
  }
}

/** 1-based line of the first byte sequence that is not UTF-8; 0x0A never occurs inside a UTF-8 sequence. */
function firstBadLine(bytes: Buffer): number {
  let start = 0;
  for (let line = 1; ; line++) {
    const end = bytes.indexOf(0x0a, start);
    const slice = bytes.subarray(start, end < 0 ? bytes.length : end);
    try {
      strictUtf8.decode(slice);
    } catch {
      return line;
    }
    if (end < 0) return line;
    start = end + 1;
  }
}
