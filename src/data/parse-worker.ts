/**
 * Worker thread entry: parses the line-aligned byte ranges the main thread hands
 * it, sending rows back in batches whose arrays are transferred, not copied; the
 * main thread sends the arrays back once it has copied them, to be filled again.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { DataError } from '../errors.js';
import { parseRows } from './row-parser.js';
import { buffersOf, type ParsedRows, type RowArrays } from './rows.js';
import { byteStream } from './source.js';
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

/** The input, held back while too many batches are in flight. */
async function* gated(input: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((wake) => (wakeReader = wake));
    yield chunk as Buffer;
  }
}

async function parseRange(index: number, request: Extract<WorkerRequest, { range: unknown }>): Promise<void> {
  const { range } = request;
  try {
    const sink = await parseRows(
      Readable.from(gated(byteStream(source, range.start, range.end)), { objectMode: false }),
      { ...job, firstLine: range.firstLine, capacity: Math.min(batchRows, Math.max(1, range.rows)) },
      (rows) => sendBatch(index, rows),
      () => spare.pop(),
    );
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
  else void parseRange(request.index, request);
});
