import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { dataError } from './data-error.js';

/** A data file that exists and is a regular file; gzip is detected from its first bytes. */
export interface Source {
  file: string;
  size: number;
  gzip: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
// Small read chunks: parsing is no slower, and peak memory is much lower (each
// chunk is copied once more inside csv-parse; large short-lived buffers pile up
// in the allocator before they are freed).
const CHUNK_BYTES = 32 * 1024;

export async function openSource(file: string): Promise<Source> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw dataError(file, 'is a directory; expected a CSV file');
    if (!st.isFile()) throw dataError(file, 'is not a regular file; expected a CSV file');
    size = st.size;
  } catch (err) {
    throw asOpenError(err, file);
  }
  if (size === 0) throw dataError(file, 'is empty (0 bytes); expected a header line then one row per image');
  let first: Buffer;
  try {
    first = await readFileHead(file, 2);
  } catch (err) {
    throw asOpenError(err, file);
  }
  const gzip = first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  return { file, size, gzip };
}

/** The file's bytes from start (inclusive) to end (exclusive), or all of it decompressed for gzip. */
export function byteStream(src: Source, start = 0, end = src.size): Readable {
  if (src.gzip) {
    const gunzip = createGunzip();
    const raw = createReadStream(src.file, { highWaterMark: CHUNK_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    gunzip.on('close', () => raw.destroy()); // a reader that stops early must not leave the file open
    return raw.pipe(gunzip);
  }
  if (end <= start) return Readable.from([]);
  // createReadStream's end is inclusive.
  return createReadStream(src.file, { start, end: end - 1, highWaterMark: CHUNK_BYTES });
}

function asOpenError(err: unknown, file: string): Error {
  if (err instanceof DataError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return dataError(file, 'file not found (check the path)');
  if (code === 'EACCES' || code === 'EPERM') return dataError(file, 'cannot read the file (permission denied)');
  if (code === 'EISDIR') return dataError(file, 'is a directory; expected a CSV file');
  return dataError(file, `cannot open: ${(err as Error)?.message ?? String(err)}`);
}

/** The first `bytes` bytes of a file (fewer if it is shorter); file-system errors are thrown as they are. */
export async function readFileHead(file: string, bytes: number): Promise<Buffer> {
  const head = Buffer.alloc(bytes);
  const fh = await open(file, 'r');
  try {
    const { bytesRead } = await fh.read(head, 0, bytes, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
