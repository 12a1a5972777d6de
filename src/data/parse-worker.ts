/**
 * Worker thread entry: parses the line-aligned byte ranges the main thread hands
 * it, each straight into its place in the output arrays (views of
 * SharedArrayBuffers), so no row is copied or sent back: a range's reply says only
 * how many rows it wrote and which lines it skipped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from '../errors.js';
import { parseRange } from './parse-range.js';
import { RowSink } from './rows.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

const { source, job } = workerData as WorkerSetup;
const port = parentPort!;

async function takeRange(request: Extract<WorkerRequest, { range: unknown }>): Promise<void> {
  const { index, range, place } = request;
  try {
    const sink = RowSink.over(place, 0, range.rows);
    await parseRange(source, range, { ...job, firstLine: range.firstLine, capacity: range.rows }, sink);
    port.postMessage({ index, done: { n: sink.n, skipped: sink.skipped } } satisfies WorkerReply);
  } catch (err) {
    const reply: WorkerReply =
      err instanceof DataError
        ? { index, dataError: { message: err.message, file: err.file, line: err.line, column: err.column } }
        : { index, crash: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    port.postMessage(reply);
  }
}

port.on('message', (request: WorkerRequest) => {
  if ('stop' in request) port.close();
  else void takeRange(request);
});
port.postMessage({ ready: true } satisfies WorkerReply);
