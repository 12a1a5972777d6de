import type { RowJob } from './row-parser.js';
import type { ParsedRows, RowArrays, Skipped } from './rows.js';
import type { Range } from './scan.js';
import type { ByteSource } from './source.js';

/** Given once to each parse worker (as workerData). */
export interface WorkerSetup {
  /** The main thread's open descriptor of the file (threads share descriptors), read at positions. */
  source: Extract<ByteSource, { fd: number }>;
  job: RowJob;
  /** Rows per batch sent back. */
  batchRows: number;
}

/** Main → worker: parse range `index`; take back a batch's arrays to fill again; or stop. */
export type WorkerRequest = { index: number; range: Range } | { recycle: RowArrays } | { stop: true };

/**
 * Worker → main: ready for ranges (its code is loaded); rows of a range in batches
 * (arrays transferred, not copied), then `done` for the range, or why it failed.
 */
export type WorkerReply =
  | { ready: true }
  | { index: number; batch: ParsedRows }
  | { index: number; done: Skipped }
  | { index: number; dataError: { message: string; file?: string; line?: number; column?: string } }
  | { index: number; crash: string };
