/** The file destination's error catalogue: filesystem errno → failure class and remediation. Codes are `FILE_<errno>`. */
import type { Failure } from '../../destination.js';
import { defineCatalogue } from '../../kit/catalogue.js';

const writeAccess = 'Give this user write access to the folder or change `path`.';

export const fileCatalogue = defineCatalogue({
  FILE_EACCES: { errorClass: 'fatal', remediation: writeAccess },
  FILE_EPERM: { errorClass: 'fatal', remediation: writeAccess },
  FILE_EROFS: { errorClass: 'fatal', remediation: 'Point `path` at a writable filesystem.' },
  FILE_ENOTDIR: { errorClass: 'fatal', remediation: '`path` must be a folder, not a file.' },
  FILE_ENOSPC: { errorClass: 'transient', remediation: 'Free disk space; the rows are retried.' },
  FILE_EMFILE: { errorClass: 'transient', remediation: 'Too many open files; lower `concurrency`.' },
  FILE_CONFIG: { errorClass: 'fatal', remediation: 'Fix `path` or `format` in the destination or sync settings.' },
});

export function classifyFileError(error: NodeJS.ErrnoException, path: string): Failure {
  const code = `FILE_${error.code ?? 'ERROR'}`;
  const message = `cannot write ${path}: ${error.code ?? error.message}`;
  if (fileCatalogue.has(code)) return fileCatalogue.failure(code, message);
  // An errno the catalogue does not name: fatal, and no sentence, so `validate` gives its generic hint.
  return { errorClass: 'fatal', code, message };
}
