/**
 * What an input is, from its first bytes: an idx file (plain or gzip'd), or CSV text;
 * and for CSV, its header line. Whatever is neither is refused saying what it looks
 * like and where (a NUL byte on line 4, a Latin-1 byte in the header, a ZIP archive,
 * gzip inside gzip).
 */
import { isAscii } from 'node:buffer';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { dataError } from './data-error.js';
import { EXPECTED_HEADER } from './header.js';
import { isIdxMagic, pictureFormat, unreadablePicture } from './magic.js';
import { byteStream, type Source } from './source.js';

/** Bytes read to check the text and find the header (which is ~6 KB). */
const HEADER_SEARCH_BYTES = 256 * 1024;
const BOM = [0xef, 0xbb, 0xbf];

/** The header line, read apart from the rows (which are parsed from just after it). */
export interface HeaderLine {
  fields: string[];
  /** Bytes up to and including the header's line break (BOM included); for gzip, decompressed bytes. */
  bytes: number;
}

/** The first bytes after gunzip (as many as a partial stream gives), or the raw ones. */
export function contentHead(source: Pick<Source, 'head' | 'gzip'>): Buffer {
  if (!source.gzip) return source.head;
  try {
    // A partial gzip stream: inflate what there is, without requiring its end.
    return gunzipSync(source.head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

/**
 * 'idx' when the input starts like an idx file (after gunzip when it is gzip'd), 'picture'
 * when it starts like a picture (PNG, JPEG, WebP, GIF, …: see magic.ts), else 'csv'.
 */
export function sniffFormat(source: Pick<Source, 'head' | 'gzip'>): 'idx' | 'csv' | 'picture' {
  if (!source.gzip && pictureFormat(source.head) !== null) return 'picture';
  return isIdxMagic(contentHead(source)) ? 'idx' : 'csv';
}

/**
 * Reads the start of the file, rejects what is not CSV text (binary, idx, UTF-16)
 * and returns its first line split into fields.
 */
export async function readHeaderLine(src: Source): Promise<HeaderLine> {
  const { head, complete } = await readTextHead(src);
  const file = src.name;
  if (head.length === 0) throw dataError(file, 'is empty (no text in it); expected a header line then one row per image');
  checkText(head, complete, file, src.gzip);
  const start = head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2] ? 3 : 0;
  let lf = head.indexOf(0x0a, start);
  if (lf < 0 && !complete) {
    throw dataError(file, `line 1 is longer than ${HEADER_SEARCH_BYTES / 1024} KiB; expected a header line such as ${EXPECTED_HEADER}`, 1);
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
  return { fields: records[0] ?? [], bytes };
}

async function readTextHead(src: Source): Promise<{ head: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = byteStream(src.bytes);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= HEADER_SEARCH_BYTES) break; // leaving the loop destroys the stream
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (src.gzip && code.startsWith('Z_')) {
      throw dataError(src.name, `gzip data is corrupt or truncated (${(err as Error).message}); check the download`);
    }
    throw dataError(src.name, `cannot read: ${(err as Error).message}`);
  }
  const all = Buffer.concat(chunks);
  const complete = all.length < HEADER_SEARCH_BYTES;
  return { head: complete ? all : all.subarray(0, HEADER_SEARCH_BYTES), complete };
}

/** Rejects content that is not UTF-8 text, saying what it looks like and on which line. */
function checkText(head: Buffer, complete: boolean, file: string, gzip: boolean): void {
  // idx (MNIST's binary format) starts with two zero bytes, 0x08 (unsigned byte), then 1 or 3 dimensions.
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08 && (head[3] === 1 || head[3] === 3)) {
    const what = head[3] === 3 ? 'images' : 'labels';
    throw dataError(file, `looks like an idx ${what} file (binary MNIST format), not CSV; the CSV reader cannot read it`);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    throw dataError(file, gzip
      ? 'is gzip data inside gzip (compressed twice); decompress it once (gunzip) and give kconv the result'
      : 'starts like gzip data but is not readable as gzip');
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    throw dataError(file, `is a ZIP archive${gzip ? ' inside gzip' : ''}; unzip it and give kconv the CSV file inside`);
  }
  const picture = pictureFormat(head);
  if (picture !== null) throw dataError(file, unreadablePicture(file, picture));
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw dataError(file, 'is UTF-16 text; save it as UTF-8 CSV');
  }
  const nul = head.indexOf(0);
  if (nul >= 0) {
    const line = lineOf(head, nul);
    throw dataError(file, `line ${line} has a NUL byte (byte ${nul + 1} of the ${gzip ? 'decompressed ' : ''}file): binary data, not CSV text`, line);
  }
  // stream: a multi-byte character cut at the end of the head is fine.
  const bad = firstInvalidUtf8(head, !complete);
  if (bad >= 0) {
    const line = lineOf(head, bad);
    const byte = `0x${head[bad].toString(16).toUpperCase().padStart(2, '0')}`;
    const latin1 = head[bad] >= 0xa0 ? ` (Latin-1 "${String.fromCharCode(head[bad])}"?)` : '';
    throw dataError(file, `line ${line} has byte ${byte}${latin1}, which is not UTF-8 text; save the file as UTF-8`, line);
  }
}

/** 1-based line number of byte `at`. */
function lineOf(buf: Buffer, at: number): number {
  let line = 1;
  for (let i = buf.indexOf(0x0a); i >= 0 && i < at; i = buf.indexOf(0x0a, i + 1)) line++;
  return line;
}

/**
 * Offset of the first byte that is not valid UTF-8, or -1. With `partial`, a sequence
 * cut off by the end of the buffer is not an error.
 */
export function firstInvalidUtf8(b: Uint8Array, partial: boolean): number {
  if (isAscii(b)) return -1; // most files: checked at memory speed, not byte by byte
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= b.length) {
      // Cut off by the end of the buffer: fine only when what there is of it is right.
      if (!partial) return i;
      for (let k = i + 1; k < b.length; k++) if ((b[k] & 0xc0) !== 0x80) return i;
      return -1;
    }
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
