import { readFileSync } from 'node:fs';
import { invokedAs } from './invocation.js';

/**
 * Calls `onGone` once when the process that started this one exits. `npx kconv serve`
 * runs kconv under npm, which does not pass SIGTERM on: killing npm would leave the
 * server running, an orphan. Polled every `everyMs` (a cheap read; the timer does not keep
 * the process alive). Returns a function that stops watching.
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const parent = STARTED_BY;
  // Parented by init from the start: npx's npm died before kconv ran a line (it starts in seconds on a busy machine).
  const orphaned = parent <= 1 && invokedAs() === 'npx kconv';
  if (parent <= 1 && !orphaned) return () => undefined; // started by init (or a container's first process): nothing to watch
  if (orphaned || parentGone(parent)) {
    // It died while kconv was starting (loading the weights on a busy machine takes seconds).
    setImmediate(onGone);
    return () => undefined;
  }
  const timer = setInterval(() => {
    if (!parentGone(parent)) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The parent's pid now: Node's process.ppid is read once at start, so on Linux it is read from /proc. */
function currentParent(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return process.ppid;
  }
}

/**
 * The parent when this module was loaded, as early as kconv can tell: the parent may die
 * before serve starts listening. (Node's process.ppid is read at its first use, so it is no
 * help: by then it may already be 1.)
 */
const STARTED_BY = currentParent();

function parentGone(parent: number): boolean {
  if (currentParent() !== parent) return true; // reparented: the parent exited
  try {
    process.kill(parent, 0); // where /proc is missing: does the pid still exist?
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
