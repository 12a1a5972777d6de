import { parse } from 'csv-parse/sync';
import { dataError } from './data-error.js';
import { EXPECTED_HEADER } from './header.js';
import { byteStream, type Source } from './source.js';

/** Bytes read to check the file and find the header (which is ~6 KB). */
const HEAD_BYTES = 256 * 1024;
const BOM = [0xef, 0xbb, 0xbf];

/** The header line, read apart from the rows so that workers can start after it. */
export interface HeaderLine {
  fields: string[];
  /** Bytes up to and including the header's line break (BOM included); for gzip, decompressed bytes. */
  bytes: number;
  /** The header's line ending, taken as the file's. */
  eol: '\n' | '\r\n';
}

/**
 * Reads the start of the file, rejects what is not CSV text (binary, idx, UTF-16)
 * and returns its first line split into fields.
 */
export async function readHeaderLine(src: Source): Promise<HeaderLine> {
  const { head, complete } = await readHead(src);
  const { file } = src;
  if (head.length === 0) throw dataError(file, 'is empty (no text in it); expected a header line then one row per image');
  checkText(head, complete, file);
  const start = head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2] ? 3 : 0;
  let lf = head.indexOf(0x0a, start);
  if (lf < 0 && !complete) {
    throw dataError(file, `line 1 is longer than ${HEAD_BYTES / 1024} KiB; expected a header line such as ${EXPECTED_HEADER}`, 1);
  }
  const bytes = lf < 0 ? head.length : lf + 1;
  if (lf < 0) lf = head.length;
  const lineEnd = head[lf - 1] === 0x0d ? lf - 1 : lf;
  const line = head.subarray(start, lineEnd);
  if (line.includes(0x0d)) {
    throw dataError(file, 'uses CR-only line endings (classic Mac); convert the file to LF or CRLF line endings', 1);
  }
  if (line.toString('utf8').trim() === '') {
    throw dataError(file, `line 1 is blank; expected a header line such as ${EXPECTED_HEADER}`, 1);
  }
  let records: string[][];
  try {
    records = parse(line, { relax_column_count: true });
  } catch (err) {
    throw dataError(file, `the header line is not valid CSV (${(err as Error).message}); expected ${EXPECTED_HEADER}`, 1);
  }
  return { fields: records[0] ?? [], bytes, eol: lineEnd < lf ? '\r\n' : '\n' };
}

async function readHead(src: Source): Promise<{ head: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = byteStream(src);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= HEAD_BYTES) break; // leaving the loop destroys the stream
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (src.gzip && code.startsWith('Z_')) {
      throw dataError(src.file, `gzip data is corrupt or truncated (${(err as Error).message}); check the download`);
    }
    throw dataError(src.file, `cannot read: ${(err as Error).message}`);
  }
  const all = Buffer.concat(chunks);
  const complete = all.length < HEAD_BYTES;
  return { head: complete ? all : all.subarray(0, HEAD_BYTES), complete };
}

/** Rejects binary content with a message saying what it looks like. */
function checkText(head: Buffer, complete: boolean, file: string): void {
  // idx (MNIST's binary format) starts with two zero bytes, 0x08 (unsigned byte), then 1 or 3 dimensions.
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08 && (head[3] === 1 || head[3] === 3)) {
    const what = head[3] === 3 ? 'images' : 'labels';
    throw dataError(file, `looks like an idx ${what} file (binary MNIST format), not CSV; the CSV reader cannot read it`);
  }
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw dataError(file, 'is UTF-16 text; save it as UTF-8 CSV');
  }
  if (head.includes(0)) {
    throw dataError(file, 'looks binary (it contains NUL bytes), not a CSV text file');
  }
  try {
    // stream: true lets a multi-byte character cut at the end of the head pass.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: !complete });
  } catch {
    throw dataError(file, 'looks binary (it is not valid UTF-8 text), not a CSV text file');
  }
}
