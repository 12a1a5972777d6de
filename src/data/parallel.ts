import { Worker } from 'node:worker_threads';
import { DataError } from '../errors.js';
import { findWorkerScript } from '../io/worker-url.js';
import type { RowJob } from './row-parser.js';
import { buffersOf, copyRows, mergeSkipped, type ParsedRows, type Skipped } from './rows.js';
import type { Range } from './scan.js';
import type { ByteSource } from './source.js';
import { PIXELS } from './types.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

// The compiled parse worker (dist/data/parse-worker.js); without it, files parse on one thread.
const WORKER_URL = findWorkerScript('./parse-worker.js', import.meta.url);
const BATCH_ROWS = 1024;
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
 * Parse worker threads for one file. They are started early (loading their code
 * while the main thread scans the file) and take ranges one at a time: rows do
 * not all cost the same to parse, so equal byte ranges would not finish together.
 */
export class WorkerPool {
  private readonly workers: Worker[] = [];

  constructor(source: ByteSource, private readonly job: RowJob, threads: number) {
    if (!('fd' in source)) throw new Error('WorkerPool: parse workers read a file descriptor, not bytes in memory');
    // The descriptor, not the path: workers read the very file the main thread opened and hashed.
    const setup: WorkerSetup = { source: { fd: source.fd, size: source.size, gzip: source.gzip }, job, batchRows: BATCH_ROWS };
    for (let w = 0; w < threads; w++) {
      this.workers.push(new Worker(WORKER_URL!, { workerData: setup, resourceLimits: WORKER_LIMITS }));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Stops the workers; resolves once none can read the file any more. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Parses the ranges and closes the pool. Rows come back in transferred batches
   * and are copied straight to their place in the output: range k starts at the
   * sum of the row counts of the ranges before it; gaps left by skipped rows are
   * closed at the end. When ranges have bad data, the earliest range's error is
   * thrown: the same one a single-thread parse would give.
   */
  parse(ranges: Range[]): Promise<ParsedRows> {
    const { job } = this;
    const base: number[] = [];
    let total = 0;
    for (const r of ranges) {
      base.push(total);
      total += r.rows;
    }
    const out: ParsedRows = {
      n: total,
      pixels: new Uint8Array(total * PIXELS),
      labels: job.hasLabels ? new Uint8Array(total) : null,
      ids: job.hasIds ? new Int32Array(total) : null,
      idLines: job.hasIds ? new Int32Array(total) : null,
      skipped: { count: 0, lines: [] },
    };
    const filled = ranges.map(() => 0);
    const skipped: Skipped[] = [];
    let failed: { index: number; error: DataErrorInfo } | null = null;
    let next = 0;
    let pending = 0;

    return new Promise<ParsedRows>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        void this.close();
        if (error) reject(error);
        else if (failed) reject(new DataError(failed.error.message, failed.error.file, failed.error.line, failed.error.column));
        else resolve(compacted(out, ranges, base, filled, skipped));
      };
      const assign = (worker: Worker) => {
        // After a data error in range k, ranges after k do not matter.
        if (next < ranges.length && (failed === null || next < failed.index)) {
          pending++;
          worker.postMessage({ index: next, range: ranges[next] } satisfies WorkerRequest);
          next++;
        } else {
          worker.postMessage({ stop: true } satisfies WorkerRequest);
          if (pending === 0) finish();
        }
      };
      const onReply = (worker: Worker, reply: WorkerReply) => {
        const k = reply.index;
        if ('batch' in reply) {
          const { batch } = reply;
          if (filled[k] + batch.n > ranges[k].rows) return finish(new WorkerFailure(`range ${k} has more rows than lines`));
          copyRows(out, base[k] + filled[k], batch, 0, batch.n);
          filled[k] += batch.n;
          const { pixels, labels, ids, idLines } = batch;
          worker.postMessage({ recycle: { pixels, labels, ids, idLines } } satisfies WorkerRequest, buffersOf(batch));
          return;
        }
        pending--;
        if ('crash' in reply) return finish(new WorkerFailure(reply.crash));
        if ('done' in reply) skipped[k] = reply.done;
        else if (failed === null || k < failed.index) failed = { index: k, error: reply.dataError };
        assign(worker);
      };

      for (const worker of this.workers) {
        worker.on('message', (reply: WorkerReply) => onReply(worker, reply));
        worker.on('error', (err) => finish(new WorkerFailure(err.stack ?? err.message)));
        worker.on('exit', (code) => {
          if (code !== 0) finish(new WorkerFailure(`parse worker exited with code ${code}`));
        });
        assign(worker);
      }
    });
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
