import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Mounts a small tmpfs on `dir` (which must exist): a disk that fills up, or a read-only
 * one. Needs root (or CAP_SYS_ADMIN): the tests that use it say so and fail, unless
 * KCONV_TEST_NO_MOUNT=1 asks to skip them knowingly.
 */
export function mountTmpfs(dir: string, options: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(`cannot mount a tmpfs on ${dir} (${why}): this test needs root to make a full or read-only disk; run as root, or set KCONV_TEST_NO_MOUNT=1 to skip it knowingly`);
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}

/** Whether the mount tests are skipped on purpose (KCONV_TEST_NO_MOUNT=1). */
export const SKIP_MOUNTS = process.env.KCONV_TEST_NO_MOUNT === '1';

/** Fills a file system until it is full (ENOSPC). */
export function fillDisk(dir: string): void {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // The last partial page too.
    try {
      for (;;) writeSync(fd, chunk, 0, 1);
    } catch {
      // full
    }
  } finally {
    closeSync(fd);
  }
}
