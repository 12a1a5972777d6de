/**
 * How many worker threads fit under the process's address-space limit (`ulimit -v`).
 * Every worker thread is a V8 isolate that reserves some 600 MB of virtual memory as it
 * starts; when the reservation fails, V8 aborts the whole process ("Fatal process OOM"),
 * which no code can catch. So the limit is read before starting workers, and fewer
 * workers (or none) are started when they would not fit.
 */
import { readFileSync } from 'node:fs';

/** Virtual memory a worker thread reserves as it starts (measured on Node 20: 600–870 MB). */
export const WORKER_RESERVATION_BYTES = 900 * 2 ** 20;
/** Kept free for the main thread's own growth (the images, the network). */
const HEADROOM_BYTES = 512 * 2 ** 20;

export interface AddressSpace {
  /** RLIMIT_AS in bytes; Infinity when there is none (or it cannot be read). */
  limit: number;
  /** Virtual memory the process uses now, in bytes. */
  used: number;
}

/** The address-space limit and use, from /proc on Linux; no limit elsewhere. */
export function addressSpace(): AddressSpace {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max address space\s+(\S+)/m.exec(limits);
    const limit = !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
    if (!Number.isFinite(limit)) return { limit: Infinity, used: 0 };
    const status = readFileSync('/proc/self/status', 'utf8');
    const used = Number(/^VmSize:\s+(\d+)\s*kB/m.exec(status)?.[1] ?? 0) * 1024;
    return { limit, used };
  } catch {
    return { limit: Infinity, used: 0 };
  }
}

/**
 * Worker threads that may be started (0..wanted) without exceeding the limit, leaving
 * headroom for the main thread; `space` is for tests.
 */
export function workersThatFit(wanted: number, space: AddressSpace = addressSpace()): number {
  if (!Number.isFinite(space.limit)) return wanted;
  const room = space.limit - space.used - HEADROOM_BYTES;
  return Math.max(0, Math.min(wanted, Math.floor(room / WORKER_RESERVATION_BYTES)));
}

/** The limit as `ulimit -v` shows it (KiB), for messages. */
export function ulimitText(space: AddressSpace = addressSpace()): string {
  return `ulimit -v ${Math.round(space.limit / 1024)}`;
}
