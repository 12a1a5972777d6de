import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dataError } from './data-error.js';
import type { ByteSource } from './source.js';
import { MAX_IMAGES, MAX_LINE_BYTES } from './types.js';


/** A line-aligned byte range of rows: one unit of work for a parse worker. */
export interface Range {
  start: number;
  /** Exclusive. */
  end: number;
  /** 1-based line number of the line at `start`. */
  firstLine: number;
  /** Non-blank lines in the range: the most rows it can hold (exact for a clean file). */
  rows: number;
}

export interface Scan {
  /** sha256 (hex) of the file's bytes, when asked for. */
  hash: string | null;
  /** The rows split into line-aligned ranges for `threads` workers (one range for one thread, and for gzip). */
  ranges: Range[];
  /** A `"` appears after the header: a quoted field could hold a line break, which a split would cut. */
  hasQuotes: boolean;
}

const CHUNK = 1 << 20;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

interface Mark {
  pos: number;
  line: number;
  blanks: number;
}

/**
 * One fast pass over the raw bytes before parsing: hashes them (the cache key) and
 * counts line breaks, so that each range starts at a line boundary whose line
 * number is known exactly, and the arrays can be sized once. A line too long to be a
 * row stops the scan at once, before anything is parsed. For gzip only the hash is
 * taken; its rows are parsed in one decompressed stream. The bytes are read through
 * the source's one descriptor, the same the parse workers read: what is hashed is
 * what is parsed.
 */
export async function scanFile(src: ByteSource, name: string, opts: { hash: boolean; dataStart: number; threads: number }): Promise<Scan> {
  const hash = opts.hash ? createHash('sha256') : null;
  const size = 'bytes' in src ? src.bytes.length : src.size;
  const dataStart = Math.min(opts.dataStart, size);
  const countLines = !src.gzip;
  const targets = opts.threads > 1 && countLines ? splitTargets(dataStart, size, opts.threads) : [];
  const marks: Mark[] = [{ pos: dataStart, line: 2, blanks: 0 }];
  let lineBreaks = 0;
  let blanks = 0;
  let lineStart = 0; // of the line being read
  let lastByte = -1; // of the previous chunk
  let hasQuotes = false;

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
    const bytesRead = chunk.length;
    hash?.update(chunk);
    if (countLines) {
      if (!hasQuotes) hasQuotes = chunk.indexOf(QUOTE, Math.max(0, dataStart - offset)) >= 0;
      for (let at = chunk.indexOf(LF); at >= 0; at = chunk.indexOf(LF, at + 1)) {
        const pos = offset + at;
        lineBreaks++;
        const length = pos - lineStart;
        if (length > MAX_LINE_BYTES) throw tooLong(lineBreaks);
        const before = at > 0 ? chunk[at - 1] : lastByte;
        if (lineStart >= dataStart && (length === 0 || (length === 1 && before === CR))) blanks++;
        lineStart = pos + 1;
        const k = marks.length - 1;
        if (k < targets.length && lineStart >= targets[k] && lineStart < size) {
          marks.push({ pos: lineStart, line: lineBreaks + 1, blanks });
        }
      }
    }
    lastByte = chunk[bytesRead - 1];
    offset += bytesRead;
    await nextTurn(); // timers, signals and parse workers' messages are heard between chunks
    if (countLines && offset - lineStart > MAX_LINE_BYTES) throw tooLong(lineBreaks + 1);
    if (countLines && lineBreaks > MAX_IMAGES + 1) {
      throw dataError(name, `has more than ${MAX_IMAGES.toLocaleString('en-US')} lines; kconv reads at most ${MAX_IMAGES.toLocaleString('en-US')} images from one file: split it`);
    }
  }

  // Line number just past the last line (a last line without a line break still counts).
  const endLine = lineBreaks + 1 + (lastByte === LF || lastByte === -1 ? 0 : 1);
  marks.push({ pos: size, line: Math.max(2, endLine), blanks });
  const ranges: Range[] = [];
  for (let k = 0; k + 1 < marks.length; k++) {
    const a = marks[k];
    const b = marks[k + 1];
    if (b.pos > a.pos) {
      ranges.push({ start: a.pos, end: b.pos, firstLine: a.line, rows: Math.max(0, b.line - a.line - (b.blanks - a.blanks)) });
    }
  }
  if (ranges.length === 0) ranges.push({ start: dataStart, end: size, firstLine: 2, rows: 0 });
  return { hash: hash ? hash.digest('hex') : null, ranges, hasQuotes };
}

const MAX_RANGE = 8 << 20;
const MIN_RANGE = 256 << 10;

/**
 * Where to cut the rows for `threads` workers that each take the next range when
 * done: ranges shrink towards the end (each about 1/(2·threads) of what is left),
 * so that the threads finish close together, without paying for many small
 * ranges throughout.
 */
export function splitTargets(start: number, end: number, threads: number): number[] {
  const smallest = Math.max(1, Math.min(MIN_RANGE, Math.floor((end - start) / (4 * threads))));
  const targets: number[] = [];
  for (let pos = start; ; ) {
    const left = end - pos;
    pos += Math.min(MAX_RANGE, Math.max(smallest, Math.floor(left / (2 * threads))));
    if (pos >= end - smallest / 2) return targets;
    targets.push(pos);
  }
}

/** All ranges as one, for parsing on a single thread. */
export function wholeRange(ranges: Range[]): Range {
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  return { start: first.start, end: last.end, firstLine: first.firstLine, rows: ranges.reduce((sum, r) => sum + r.rows, 0) };
}
