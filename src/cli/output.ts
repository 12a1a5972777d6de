import { KconvError } from '../errors.js';
import { wantsProgress } from './bar.js';

/** Where the CLI writes: results to stdout, progress and diagnostics to stderr. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress bars) or a pipe/CI log (plain lines); KCONV_PROGRESS=1 or 0 says so instead (bar.ts). */
  errIsTTY: boolean;
  /** Whether stdout takes colours: a terminal, and NO_COLOR not set (FORCE_COLOR forces them). Default false. */
  outColor?: boolean;
  /** Columns of the terminal stderr is (progress bars fit it); default 80. */
  errColumns?: () => number;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTTY: wantsProgress(Boolean(process.stderr.isTTY), process.env),
  outColor: wantsColor(Boolean(process.stdout.isTTY), process.env),
  errColumns: () => process.stderr.columns || 80,
};

/** The usual conventions: NO_COLOR (any value) turns colours off, FORCE_COLOR (not 0) on; else only on a terminal. */
export function wantsColor(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && !['', '0', 'false'].includes(env.FORCE_COLOR)) return true;
  return isTTY && env.TERM !== 'dumb';
}

const NODE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device (the disk is full)',
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
  if (e && e.code === 'ENOSPC') return { line: 'kconv: the disk is full (no space left on the device); free some space and run again', exitCode: 1 };
  const message = e instanceof Error ? e.message : String(error);
  return { line: `kconv: internal error: ${message} (a bug in kconv: please report it; KCONV_DEBUG=1 shows the stack)`, exitCode: 70 };
}

/** Exit code when the reader of kconv's output went away (as `head` does): 128 + SIGPIPE, as Unix tools report it. */
export const EXIT_PIPE_CLOSED = 141;

/**
 * Write errors on stdout and stderr, which Node reports as 'error' events (a stack
 * trace, if nobody listens). A closed pipe (`kconv predict … | head -1`) ends kconv
 * quietly, as it ends other Unix tools; any other error (`> /dev/full`) is one line and
 * exit 1. Exit handlers still run: locks and temporary files are removed.
 */
let guarded = false;
export function guardStandardStreams(): void {
  if (guarded) return;
  guarded = true;
  const onError = (name: string) => (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT_PIPE_CLOSED);
    const reason = err.code === 'ENOSPC' ? 'the disk is full (no space left on the device)' : (err.code ?? err.message);
    if (name !== 'standard error') {
      try {
        process.stderr.write(`kconv: cannot write to ${name}: ${reason}\n`);
      } catch {
        // stderr is gone too: the exit code says it
      }
    }
    process.exit(1);
  };
  process.stdout.on('error', onError('standard output'));
  process.stderr.on('error', onError('standard error'));
}
