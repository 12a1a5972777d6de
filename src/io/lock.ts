/**
 * `<file>.lock`: one writer per output. Two `kconv train` runs with the same --out would
 * each save after every epoch, and one run's result would silently be lost; the second
 * run is refused instead. The lock file holds the owner's pid and host name; a lock
 * whose process is gone (killed, power loss) is stale and is taken over.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { OutputError } from '../errors.js';
import { reasonOf, resolveWriteTarget } from './atomic-write.js';

export interface FileLock {
  /** The lock file. */
  file: string;
  /** Removes the lock file (also done on process exit). Safe to call twice. */
  release(): void;
}

const held = new Set<FileLock>();
process.on('exit', () => {
  for (const lock of held) lock.release();
});

/**
 * Takes the lock of the file `target` names (after symbolic links, so two names of one
 * file share a lock). `label` is the option and path as typed, for the message.
 */
export async function lockOutput(target: string, label: string): Promise<FileLock> {
  const resolved = await resolveWriteTarget(target).catch(() => null);
  // A device or a pipe is written to, not replaced: nothing to lose, and no lock file beside /dev/… .
  if (resolved?.kind === 'direct') return { file: '', release: () => undefined };
  const lockFile = `${resolved?.file ?? target}.lock`;
  const mine = `${process.pid}\n${hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(lockFile, 'wx');
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      const lock: FileLock = {
        file: lockFile,
        release() {
          if (!held.delete(lock)) return;
          try {
            // Only our own lock: never one another run took over.
            if (readFileSync(lockFile, 'utf8') === mine) unlinkSync(lockFile);
          } catch {
            // already gone
          }
        },
      };
      held.add(lock);
      return lock;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        await unlink(lockFile).catch(() => undefined); // created but not written (a full disk)
        throw new OutputError(`${label}: cannot create the lock file ${lockFile}: ${reasonOf(code, (err as Error).message)}`, code);
      }
    }
    const owner = await readOwner(lockFile);
    if (owner === 'gone') continue; // released between our attempt and the read: try again
    if (owner.stale) {
      await unlink(lockFile).catch(() => undefined);
      continue;
    }
    const who = owner.pid !== null ? `pid ${owner.pid}${owner.host && owner.host !== hostname() ? ` on ${owner.host}` : ''}` : 'another process';
    throw new OutputError(
      `${label}: another kconv run (${who}) is writing this file; wait for it to finish or give another output file (if that run is gone, delete ${lockFile})`,
      'ELOCKED',
    );
  }
  throw new OutputError(`${label}: cannot take the lock ${lockFile}: other runs keep taking it; try again`, 'ELOCKED');
}

type Owner = 'gone' | { pid: number | null; host: string | null; stale: boolean };

async function readOwner(lockFile: string): Promise<Owner> {
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
    if (text === '') {
      // Just created, its pid not written yet; unless it has been empty for a while.
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await readFile(lockFile, 'utf8');
    }
  } catch {
    return 'gone';
  }
  const [pidText, host] = text.split('\n');
  const pid = /^\d+$/.test(pidText ?? '') ? Number(pidText) : null;
  if (pid === null) {
    const age = Date.now() - ((await stat(lockFile).catch(() => null))?.mtimeMs ?? 0);
    return { pid: null, host: null, stale: age > 5_000 };
  }
  // A process on another machine (a shared folder) cannot be checked: it holds the lock.
  const sameHost = !host || host === hostname();
  // Our own pid in a lock we do not hold: left by an earlier process that had this pid.
  const ours = pid === process.pid && ![...held].some((lock) => lock.file === lockFile);
  return { pid, host: host || null, stale: sameHost && (ours || !isAlive(pid)) };
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
