import { readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dataError } from './data-error.js';
import type { ByteSource } from './source.js';
import { MAX_IMAGES, MAX_LINE_BYTES } from './types.js';

/** The rows of a file: a line-aligned byte range after the header. */
export interface Range {
  start: number;
  /** Exclusive. */
  end: number;
  /** 1-based line number of the line at `start`. */
  firstLine: number;
  /** Non-blank lines in the range: the most rows it can hold (exact for a clean file). */
  rows: number;
}

const CHUNK = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;

/**
 * One fast pass over the raw bytes of a plain (not gzip'd) CSV before parsing: counts
 * its non-blank lines, so that the arrays are sized once, and stops at once, before
 * anything is parsed, at a line too long to be a row or at more lines than kconv reads.
 * The bytes are read through the source's one descriptor, the one the parse reads.
 */
export async function scanFile(src: ByteSource, name: string, dataStart: number): Promise<Range> {
  const size = 'bytes' in src ? src.bytes.length : src.size;
  const start = Math.min(dataStart, size);
  let lineBreaks = 0;
  let blanks = 0;
  let lineStart = 0; // of the line being read
  let lastByte = -1; // of the previous chunk

  const tooLong = (line: number) =>
    dataError(name, `line ${line} is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB (a row of 785 numbers takes at most about 3 KB): is this a CSV file of 28×28 images?`, line);
  const buf = 'bytes' in src ? null : Buffer.allocUnsafe(CHUNK);
  for (let offset = 0; offset < size; ) {
    let chunk: Buffer;
    if ('bytes' in src) {
      chunk = Buffer.from(src.bytes.buffer, src.bytes.byteOffset + offset, Math.min(CHUNK, size - offset));
    } else {
      // A regular file, read in place: a read on the thread pool would leave this thread waiting as long as the read takes.
      const bytesRead = readSync(src.fd, buf!, 0, Math.min(CHUNK, size - offset), offset);
      if (bytesRead === 0) break;
      chunk = buf!.subarray(0, bytesRead);
    }
    for (let at = chunk.indexOf(LF); at >= 0; at = chunk.indexOf(LF, at + 1)) {
      const pos = offset + at;
      lineBreaks++;
      const length = pos - lineStart;
      if (length > MAX_LINE_BYTES) throw tooLong(lineBreaks);
      const before = at > 0 ? chunk[at - 1] : lastByte;
      if (lineStart >= start && (length === 0 || (length === 1 && before === CR))) blanks++;
      lineStart = pos + 1;
    }
    lastByte = chunk[chunk.length - 1];
    offset += chunk.length;
    await nextTurn(); // timers and signals are heard between chunks
    if (offset - lineStart > MAX_LINE_BYTES) throw tooLong(lineBreaks + 1);
    if (lineBreaks > MAX_IMAGES + 1) {
      throw dataError(name, `has more than ${MAX_IMAGES.toLocaleString('en-US')} lines; kconv reads at most ${MAX_IMAGES.toLocaleString('en-US')} images from one file: split it`);
    }
  }

  // Line number just past the last line (a last line without a line break still counts).
  const endLine = Math.max(2, lineBreaks + 1 + (lastByte === LF || lastByte === -1 ? 0 : 1));
  return { start, end: size, firstLine: 2, rows: Math.max(0, endLine - 2 - blanks) };
}
