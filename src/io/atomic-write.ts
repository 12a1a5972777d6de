/**
 * The one way kconv writes a file (weights, predictions, pictures, ONNX models, the
 * cache, downloads): nothing the user had is lost or left half written.
 *
 * - A regular file (or a name not there yet) is written to a temporary name beside it,
 *   flushed, then renamed over it: readers see the old file or the new one, never half.
 * - A symbolic link is followed: the file it points to is replaced and the link stays.
 * - A device, FIFO or socket (/dev/null, /dev/stdout, a named pipe) cannot be replaced
 *   by a rename: it is written to directly.
 * - Any failure (a full disk, a read-only file system, no permission) is one
 *   OutputError naming the path as the user typed it; the temporary file is removed
 *   and the old file is as it was. Temporary files are removed on process exit too
 *   (a second Ctrl-C, a closed pipe), so none are left behind.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { chmod, chown, lstat, open, readlink, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.js';

export interface WriteOptions {
  /** Flush the data to the disk before the rename (default true), so that a crash leaves the old file or the new one. */
  durable?: boolean;
  /** The name to use in messages (the path as the user typed it); default the path. */
  label?: string;
  /** Called with the temporary file once it is complete, before it replaces the target; a throw leaves the target as it was. */
  beforeReplace?: (tmp: string) => Promise<void>;
  /** Refuse a target that is a device, FIFO or socket instead of writing to it directly (default false). */
  regularOnly?: boolean;
}

/** Where a write goes: a regular file replaced by rename, or something written to in place. */
export type WriteTarget = { kind: 'replace'; file: string; exists: boolean } | { kind: 'direct'; file: string; what: string };

/** Appends bytes to the file being written. */
export interface OutputSink {
  write(data: string | Uint8Array): Promise<void>;
}

/** Writes `data` to `file` atomically (see the module comment). */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  await writeAtomic(file, (sink) => sink.write(data), opts);
}

/**
 * Streams a file: `produce` writes it piece by piece, and only when it resolves does
 * the file replace the target. Returns what `produce` returned.
 */
export async function writeAtomic<T>(file: string, produce: (sink: OutputSink) => Promise<T>, opts: WriteOptions = {}): Promise<T> {
  const label = opts.label ?? file;
  let target: WriteTarget;
  try {
    target = await resolveWriteTarget(file);
  } catch (err) {
    throw outputError(err, label);
  }
  if (target.kind === 'direct') {
    if (opts.regularOnly) throw new OutputError(`${label}: is ${target.what}, not a regular file; give a file name`);
    return writeDirect(target.file, produce, label);
  }
  const tmp = temporaryName(target.file);
  let fh: FileHandle | null = null;
  liveTemporaries.add(tmp);
  try {
    fh = await open(tmp, 'wx');
    const result = await produce(sinkOf(fh));
    if (opts.durable ?? true) await fh.sync();
    await fh.close();
    fh = null;
    if (target.exists) await keepOwnership(tmp, target.file);
    await opts.beforeReplace?.(tmp);
    await rename(tmp, target.file);
    liveTemporaries.delete(tmp);
    return result;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    liveTemporaries.delete(tmp);
    throw outputError(err, label, target.exists ? `${label} was not changed` : 'nothing was written');
  }
}

/**
 * What writing to `file` would touch: symbolic links followed to the file they name
 * (which may not exist yet), a directory refused.
 */
export async function resolveWriteTarget(file: string): Promise<WriteTarget> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  if (st && !st.isFile()) return { kind: 'direct', file, what: describeKind(st) };
  // A regular file, or nothing there yet: the rename must replace the file a link points to, not the link.
  return { kind: 'replace', file: st ? await realpath(file) : await followDanglingLinks(file), exists: st !== null };
}

/** Temporary name beside `file`, unique to this process and call: `<file>.<pid>.<8 hex>.tmp`. */
export function temporaryName(file: string, suffix = 'tmp'): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`;
}

/** Temporary files being written now, removed if the process exits before they are renamed. */
const liveTemporaries = new Set<string>();
process.on('exit', () => {
  for (const tmp of liveTemporaries) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
});

async function writeDirect<T>(file: string, produce: (sink: OutputSink) => Promise<T>, label: string): Promise<T> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(file, 'w');
    const result = await produce(sinkOf(fh));
    await fh.close();
    fh = null;
    return result;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    throw outputError(err, label, 'what was written is incomplete');
  }
}

function sinkOf(fh: FileHandle): OutputSink {
  return {
    async write(data) {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
        done += bytesWritten;
      }
    },
  };
}

/** A replaced file keeps its permissions (and, where we may, its owner). */
async function keepOwnership(tmp: string, file: string): Promise<void> {
  const old = await stat(file).catch(() => null);
  if (!old) return;
  await chmod(tmp, old.mode & 0o7777).catch(() => undefined);
  if (process.getuid?.() === 0) await chown(tmp, old.uid, old.gid).catch(() => undefined);
}

/** A name that is a link to nothing (yet): the path the last link names. */
async function followDanglingLinks(file: string): Promise<string> {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    const st = await lstat(current).catch(() => null);
    if (!st?.isSymbolicLink()) return current;
    current = path.resolve(path.dirname(current), await readlink(current));
  }
  throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
}

function describeKind(st: import('node:fs').Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full (no space left on the device)',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'the file is too large for the file system',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder; give a file name',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'an input/output error on the device',
  ETXTBSY: 'the file is busy',
  EPIPE: 'the reading end of the pipe is closed',
  ENXIO: 'no such device (a socket cannot be opened as a file)',
};

/** A file-system error code in a few words, e.g. ENOSPC → "the disk is full (…)". */
export function reasonOf(code: string | undefined, message = ''): string {
  return (code && REASONS[code]) ?? `${code ?? 'error'}${message ? ` (${message})` : ''}`;
}

/** The one line for a failed write: the path as typed, why, and what is left. */
export function outputError(err: unknown, label: string, left?: string): Error {
  if (err instanceof OutputError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return err as Error; // not the file system's: a bug, or an error of the producer
  const reason = reasonOf(e.code, e.message);
  const advice = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? '; free some space and run again' : '';
  return new OutputError(`${label}: cannot write: ${reason}${left ? `; ${left}` : ''}${advice}`, e.code);
}
