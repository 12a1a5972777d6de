import { availableParallelism } from 'node:os';
import { addressSpace, ulimitText, workersThatFit } from '../io/thread-budget.js';
import type { Io } from './output.js';

/** One thread per core the machine offers (KCONV_THREADS overrides, e.g. for benchmarks). */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.KCONV_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

/**
 * The threads to compute with: --threads, else the default, but no more than fit under
 * the address-space limit (`ulimit -v`: each worker thread reserves ~0.9 GB of virtual
 * memory, and one that does not fit aborts the process). Says so when it cuts a number
 * the user gave.
 */
export function threadsToUse(requested: number | undefined, io: Io): number {
  const wanted = requested ?? defaultThreads();
  const space = addressSpace();
  const threads = 1 + workersThatFit(wanted - 1, space);
  if (threads < wanted && requested !== undefined) {
    io.err(`kconv: note: --threads ${requested} does not fit under the address-space limit (${ulimitText(space)}); using ${threads} (raise ulimit -v for more)\n`);
  }
  return threads;
}
