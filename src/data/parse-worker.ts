/**
 * Worker thread entry: parses the line-aligned byte ranges the main thread hands
 * it, sending rows back in batches whose arrays are transferred, not copied; the
 * main thread sends the arrays back once it has copied them, to be filled again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from '../errors.js';
import { parseRange } from './parse-range.js';
import { buffersOf, RowSink, type ParsedRows, type RowArrays } from './rows.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

const { source, job, batchRows } = workerData as WorkerSetup;
const port = parentPort!;
/** Batches sent whose arrays are not back yet: past this, reading waits (a busy main thread must not let them pile up). */
const MAX_IN_FLIGHT = 4;
const spare: RowArrays[] = [];
let inFlight = 0;
let wakeReader: (() => void) | null = null;

function sendBatch(index: number, rows: ParsedRows): void {
  const { n, pixels, labels, ids, idLines } = rows;
  const reply: WorkerReply = { index, batch: { n, pixels, labels, ids, idLines, skipped: { count: 0, lines: [] } } };
  inFlight++;
  port.postMessage(reply, buffersOf(rows));
}

function recycled(arrays: RowArrays): void {
  spare.push(arrays);
  inFlight--;
  wakeReader?.();
  wakeReader = null;
}

/** Holds the reading back while too many batches are in flight (a busy main thread must not let them pile up). */
function room(): Promise<void> | undefined {
  if (inFlight < MAX_IN_FLIGHT) return undefined;
  return new Promise<void>((wake) => (wakeReader = wake)).then(() => room());
}

async function takeRange(index: number, request: Extract<WorkerRequest, { range: unknown }>): Promise<void> {
  const { range } = request;
  try {
    const capacity = Math.min(batchRows, Math.max(1, range.rows));
    const rows = new RowSink(capacity, job.hasLabels, job.hasIds, (full) => sendBatch(index, full), () => spare.pop());
    const sink = await parseRange(source, range, job, rows, room);
    if (sink.n > 0) sendBatch(index, sink);
    port.postMessage({ index, done: sink.skipped } satisfies WorkerReply);
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
  else if ('recycle' in request) recycled(request.recycle);
  else void takeRange(request.index, request);
});
port.postMessage({ ready: true } satisfies WorkerReply);
