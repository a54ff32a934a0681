/** The file destination's error catalogue: filesystem errno → failure class and remediation. */
import type { Failure } from '../../destination.js';

const catalogue: Record<string, Omit<Failure, 'message'>> = {
  EACCES: { errorClass: 'fatal', code: 'FILE_EACCES', remediation: 'Give this user write access to the folder or change `path`.' },
  EPERM: { errorClass: 'fatal', code: 'FILE_EPERM', remediation: 'Give this user write access to the folder or change `path`.' },
  EROFS: { errorClass: 'fatal', code: 'FILE_EROFS', remediation: 'Point `path` at a writable filesystem.' },
  ENOTDIR: { errorClass: 'fatal', code: 'FILE_ENOTDIR', remediation: '`path` must be a folder, not a file.' },
  ENOSPC: { errorClass: 'transient', code: 'FILE_ENOSPC', remediation: 'Free disk space; the rows are retried.' },
  EMFILE: { errorClass: 'transient', code: 'FILE_EMFILE', remediation: 'Too many open files; lower `concurrency`.' },
};

export function classifyFileError(error: NodeJS.ErrnoException, path: string): Failure {
  const entry = catalogue[error.code ?? ''] ?? { errorClass: 'fatal' as const, code: `FILE_${error.code ?? 'ERROR'}` };
  return { ...entry, message: `cannot write ${path}: ${error.code ?? error.message}` };
}
