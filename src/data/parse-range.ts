/**
 * Parses the rows of a CSV file (a line-aligned byte range after the header) into a
 * RowSink: plain lines on the fast path (fast-rows.ts), every other line by csv-parse,
 * so that rows, errors and skipped-line reports are exactly csv-parse's.
 *
 * The range is read in chunks into one reused buffer. Where the fast path leaves a
 * line, that line goes to csv-parse:
 * - alone, when it has no quote and no CR but the one before its LF: then it is one
 *   record, wherever csv-parse starts (row-parser.ts, parseLine); the fast path goes
 *   on with the next line;
 * - with the rest of the range, otherwise: a quote may open a field that spans lines,
 *   and csv-parse counts a lone CR as a line break, which moves the line numbers of
 *   the rows after it within its stream. csv-parse then reads from that line to the
 *   end of the range, as it would have read the whole range (its state at the start
 *   of that line is that of any record start).
 * Gzip'd files are read by csv-parse alone (one decompressed stream from the top).
 */
import { readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dataError } from './data-error.js';
import { CR, LF, PlainRows } from './fast-rows.js';
import { parseLine, parseRows, type RowJob } from './row-parser.js';
import type { RowSink } from './rows.js';
import type { Range } from './scan.js';
import { byteStream, type ByteSource } from './source.js';

/** Bytes read at a time. A line longer than this (a valid row takes ~3 KB) goes to csv-parse. */
const CHUNK_BYTES = 1 << 20;
const QUOTE = 0x22;

export async function parseRange(src: ByteSource, range: Range, job: RowJob, sink: RowSink): Promise<RowSink> {
  /** csv-parse from byte `start` (the start of line `line`) to the end of the range. */
  const general = (start: number, line: number) => parseRows(byteStream(src, start, range.end), { ...job, firstLine: line }, sink);
  if (!job.fast || src.gzip) return general(range.start, range.firstLine);

  const plain = new PlainRows(job.roles, range.firstLine, sink);
  const size = Math.min(CHUNK_BYTES, range.end - range.start);
  const buf = Buffer.allocUnsafe(size + 1); // + 1: room for a LF after a last line without one
  let pos = range.start; // file offset of buf[0]
  let have = 0; // bytes in buf
  for (;;) {
    const want = Math.min(size - have, range.end - pos - have);
    const got = want > 0 ? readInto(src, buf, have, want, pos + have, job.file) : 0;
    have += got;
    // The end of the range, or of the file if it became shorter (source.checkUnchanged says so).
    const atEnd = got < want || pos + have >= range.end;
    let to = have > 0 ? buf.lastIndexOf(LF, have - 1) + 1 : 0; // just past the last whole line
    if (atEnd && to < have && buf[have - 1] !== CR) {
      // The last line of the file has no line break: csv-parse ends it at the end of the input, and a LF does the same.
      buf[have] = LF;
      to = have + 1;
    }
    if (to === 0 && !atEnd) return general(pos, plain.line); // a line longer than the buffer
    for (let p = plain.lines(buf, 0, to); p < to; p = plain.lines(buf, p, to)) {
      // The line at p is not plain.
      const lf = buf.indexOf(LF, p); // found before `to`: buf[to - 1] is a LF
      const end = lf > p && buf[lf - 1] === CR ? lf - 1 : lf;
      const line = buf.subarray(p, end);
      if (line.includes(QUOTE) || line.includes(CR)) return general(pos + p, plain.line);
      parseLine(line, plain.line, job, sink);
      plain.line++;
      p = lf + 1;
    }
    if (atEnd) {
      // Whatever is left is a last line ending in a lone CR: csv-parse's.
      return to < have ? general(pos + to, plain.line) : sink;
    }
    buf.copyWithin(0, to, have);
    pos += to;
    have -= to;
    await nextTurn(); // timers and signals are heard between chunks
  }
}

/**
 * Reads `length` bytes at `position` into buf[at…], or fewer only at the end of the
 * file. A regular file, read in place: a read on the thread pool would leave this
 * thread waiting as long as the read takes, for each chunk.
 */
function readInto(src: ByteSource, buf: Buffer, at: number, length: number, position: number, file: string): number {
  if ('bytes' in src) {
    const n = Math.max(0, Math.min(length, src.bytes.length - position));
    buf.set(src.bytes.subarray(position, position + n), at);
    return n;
  }
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      bytesRead = readSync(src.fd, buf, at + done, length - done, position + done);
    } catch (err) {
      throw dataError(file, `cannot read: ${(err as Error).message}`); // as csv-parse's input stream says it
    }
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
