import type { RowJob } from './row-parser.js';
import type { RowArrays, Skipped } from './rows.js';
import type { Range } from './scan.js';
import type { ByteSource } from './source.js';

/** Given once to each parse worker (as workerData). */
export interface WorkerSetup {
  /** The main thread's open descriptor of the file (threads share descriptors), read at positions. */
  source: Extract<ByteSource, { fd: number }>;
  job: RowJob;
}

/**
 * Main → worker: parse range `index` into `place` (views of the output's
 * SharedArrayBuffers, exactly the range's rows: the worker writes its rows where
 * they belong, as the main thread does); or stop.
 */
export type WorkerRequest = { index: number; range: Range; place: RowArrays } | { stop: true };

/** Worker → main: ready for ranges (its code is loaded); a range done (rows written, skipped lines), or why it failed. */
export type WorkerReply =
  | { ready: true }
  | { index: number; done: { n: number; skipped: Skipped } }
  | { index: number; dataError: { message: string; file?: string; line?: number; column?: string } }
  | { index: number; crash: string };
