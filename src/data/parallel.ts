import { Worker } from 'node:worker_threads';
import { DataError } from '../errors.js';
import { findWorkerScript } from '../io/worker-url.js';
import type { RowJob } from './row-parser.js';
import { parseRange } from './parse-range.js';
import { copyRows, mergeSkipped, RowSink, type ParsedRows, type Skipped } from './rows.js';
import type { Range } from './scan.js';
import type { ByteSource } from './source.js';
import { PIXELS } from './types.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

// The compiled parse worker (dist/data/parse-worker.js); without it, files parse on one thread.
const WORKER_URL = findWorkerScript('./parse-worker.js', import.meta.url);
// csv-parse makes a short-lived object per field; a small young generation keeps
// each worker's heap (and so the load's peak memory) small, at no cost in speed.
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };

export function workersAvailable(): boolean {
  return WORKER_URL !== null;
}

/** A worker failed for a reason other than the data; the caller parses on one thread instead. */
export class WorkerFailure extends Error {}

type DataErrorInfo = Extract<WorkerReply, { dataError: unknown }>['dataError'];

/**
 * Parse worker threads for one file, and the calling thread beside them. The workers
 * are started early (loading their code while the main thread scans the file) and,
 * once ready, take ranges one at a time, as the calling thread does: rows do not all
 * cost the same to parse, so equal byte ranges would not finish together, and a
 * worker that starts late (on a busy machine it can take a few hundred ms, as long as
 * parsing 50 MB) only takes fewer ranges.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];

  constructor(private readonly source: ByteSource, private readonly job: RowJob, workers: number) {
    if (!('fd' in source)) throw new Error('WorkerPool: parse workers read a file descriptor, not bytes in memory');
    // The descriptor, not the path: workers read the very file the main thread opened and hashed.
    const setup: WorkerSetup = { source: { fd: source.fd, size: source.size, gzip: source.gzip }, job };
    for (let w = 0; w < workers; w++) {
      this.workers.push(new Worker(WORKER_URL!, { workerData: setup, resourceLimits: WORKER_LIMITS }));
    }
  }

  /** Parse workers (the calling thread parses beside them). */
  get size(): number {
    return this.workers.length;
  }

  /** Stops the workers; resolves once none can read the file any more. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Parses the ranges and closes the pool. Each range's rows go to their place in
   * the output: range k starts at the sum of the row counts of the ranges before
   * it. The output arrays are SharedArrayBuffers, and every thread writes its rows
   * there directly: nothing is copied between threads, and the first writes to the
   * fresh memory (page faults, a good part of the cost of a load) are shared out
   * too. Gaps left by skipped rows are closed at the end. When ranges have bad data,
   * the earliest range's error is thrown: the same one a single-thread parse would
   * give. With callerParses false, the workers parse every range (tests).
   */
  async parse(ranges: Range[], callerParses = true): Promise<ParsedRows> {
    const { job } = this;
    const base: number[] = [];
    let total = 0;
    for (const r of ranges) {
      base.push(total);
      total += r.rows;
    }
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    const out: ParsedRows = {
      n: total,
      pixels: new Uint8Array(shared(total * PIXELS)),
      labels: job.hasLabels ? new Uint8Array(shared(total)) : null,
      ids: job.hasIds ? new Int32Array(shared(total * 4)) : null,
      idLines: job.hasIds ? new Int32Array(shared(total * 4)) : null,
      skipped: { count: 0, lines: [] },
    };
    const filled = ranges.map(() => 0);
    const skipped: Skipped[] = [];
    let failed: { index: number; error: DataErrorInfo } | null = null;
    let next = 0;
    let pending = 0; // ranges being parsed by workers
    let callerDone = false;
    /** What stops all parsing at once: a worker that failed for a reason other than the data. */
    let stop: Error | null = null;
    let wake!: () => void;
    const workersIdle = new Promise<void>((resolve) => (wake = resolve));

    /** Ranges to parse are left: not past the end, nor past a range that failed. */
    const left = () => next < ranges.length && (failed === null || next < failed.index);
    /** The next range to parse, or -1. */
    const take = () => (left() ? next++ : -1);
    const wakeWhenDone = () => {
      if (callerDone && pending === 0 && !left()) wake();
    };
    const fail = (k: number, error: DataErrorInfo) => {
      if (failed === null || k < failed.index) failed = { index: k, error };
    };
    let closing = false; // the workers end as they are closed: no failure then
    const halt = (error: Error) => {
      if (closing) return;
      stop ??= error;
      wake();
    };
    const assign = (worker: Worker) => {
      const k = take();
      if (k >= 0) {
        pending++;
        const { pixels, labels, ids, idLines } = RowSink.over(out, base[k], ranges[k].rows);
        worker.postMessage({ index: k, range: ranges[k], place: { pixels, labels, ids, idLines } } satisfies WorkerRequest);
        return;
      }
      worker.postMessage({ stop: true } satisfies WorkerRequest);
      wakeWhenDone();
    };
    const onReply = (worker: Worker, reply: WorkerReply) => {
      if ('ready' in reply) return assign(worker);
      const k = reply.index;
      pending--;
      if ('crash' in reply) return halt(new WorkerFailure(reply.crash));
      if ('done' in reply) {
        filled[k] = reply.done.n;
        skipped[k] = reply.done.skipped;
      } else fail(k, reply.dataError);
      assign(worker);
    };
    for (const worker of this.workers) {
      worker.on('message', (reply: WorkerReply) => onReply(worker, reply));
      worker.on('error', (err) => halt(new WorkerFailure(err.stack ?? err.message)));
      worker.on('exit', (code) => {
        if (code !== 0) halt(new WorkerFailure(`parse worker exited with code ${code}`));
      });
    }

    try {
      // This thread's share, written in place; worker replies are handled while it waits for reads.
      const stopped = () => (stop ? Promise.reject(stop) : undefined);
      for (let k = callerParses ? take() : -1; k >= 0 && stop === null; k = take()) {
        const range = ranges[k];
        const sink = RowSink.over(out, base[k], range.rows);
        try {
          await parseRange(this.source, range, { ...job, firstLine: range.firstLine, capacity: range.rows }, sink, stopped);
          filled[k] = sink.n;
          skipped[k] = sink.skipped;
        } catch (err) {
          if (stop !== null) break;
          if (!(err instanceof DataError)) throw new WorkerFailure((err as Error)?.stack ?? String(err));
          fail(k, { message: err.message, file: err.file, line: err.line, column: err.column });
        }
      }
      callerDone = true;
      wakeWhenDone();
      await workersIdle;
    } finally {
      closing = true;
      // Awaited: no worker may read the descriptor once this returns (its owner may close it).
      await this.close();
    }
    // (Both are set by the handlers above: the casts undo TypeScript's narrowing to null.)
    if (stop) throw stop as Error;
    const first = failed as { error: DataErrorInfo } | null;
    if (first) throw new DataError(first.error.message, first.error.file, first.error.line, first.error.column);
    return compacted(out, ranges, base, filled, skipped);
  }
}

/** Closes the gaps that skipped rows left at the end of each range's place. */
function compacted(out: ParsedRows, ranges: Range[], base: number[], filled: number[], skipped: Skipped[]): ParsedRows {
  let n = 0;
  for (let k = 0; k < ranges.length; k++) {
    copyRows(out, n, out, base[k], filled[k]);
    n += filled[k];
  }
  return { ...out, n, skipped: mergeSkipped(skipped.filter(Boolean)) };
}
