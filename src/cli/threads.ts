import { availableParallelism } from 'node:os';

/** One thread per core the machine offers (KCONV_THREADS overrides, e.g. for benchmarks). */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.KCONV_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}
