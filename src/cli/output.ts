import { KconvError } from '../errors.js';

/** Where the CLI writes: results to stdout, progress and diagnostics to stderr. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress bars) or a pipe/CI log (plain lines). */
  errIsTTY: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTTY: Boolean(process.stderr.isTTY),
};

const NODE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

/**
 * The one line the user sees for an error, and the exit code. Library errors carry a
 * complete message; file-system errors are named by path; anything else is a bug in
 * kconv, said as such (KCONV_DEBUG=1 shows the stack).
 */
export function describeError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof KconvError) return { line: `kconv: ${error.message}`, exitCode: error.exitCode };
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && NODE_ERRORS[e.code] && e.path) {
    return { line: `kconv: ${e.path}: ${NODE_ERRORS[e.code]}`, exitCode: 1 };
  }
  const message = e instanceof Error ? e.message : String(error);
  return { line: `kconv: internal error: ${message} (a bug in kconv: please report it; KCONV_DEBUG=1 shows the stack)`, exitCode: 70 };
}
