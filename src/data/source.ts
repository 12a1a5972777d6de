/**
 * An input opened once. Everything after (sniffing, the line scan, the row parser,
 * the idx reader) reads through what was opened here and never opens the path again:
 * a file replaced while it is read (`mv new old`) cannot mix two files' bytes, a FIFO's
 * data is not lost to a first peek, and standard input can be read at all.
 *
 * - A regular file stays open: its descriptor is read at positions.
 * - Standard input (`-`), a FIFO or a character device is a stream: it is read whole
 *   into memory (at most MAX_STREAM_BYTES) and parsed from there.
 */
import { read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CSV_FILES, OFFICIAL_FILES } from './official.js';
import { DataError } from '../errors.js';
import { dataError } from './data-error.js';
import { isGzip, isIdxMagic, pictureFormat } from './magic.js';

/** The file name that means standard input. */
export const STDIN = '-';
/** How standard input is named in messages. */
export const STDIN_NAME = 'stdin';
/** Bytes of the start of the input kept for sniffing (gzip, idx, text). */
export const HEAD_BYTES = 64 * 1024;
/** A stream is held in memory whole: no more than this. */
export const MAX_STREAM_BYTES = 1 << 30;
// Small read chunks: parsing is no slower, and peak memory is much lower (each
// chunk is copied once more inside csv-parse; large short-lived buffers pile up
// in the allocator before they are freed).
const CHUNK_BYTES = 32 * 1024;

/** Where bytes come from: a descriptor to read at positions, or bytes in memory. */
export type ByteSource = { fd: number; size: number; gzip: boolean } | { bytes: Uint8Array; gzip: boolean };

export interface Source {
  /** The path as given, or `stdin`: for messages. */
  name: string;
  /** The bytes: a descriptor to read at positions, or a stream read whole. */
  bytes: ByteSource;
  /** Raw (compressed, for gzip) size in bytes. */
  size: number;
  gzip: boolean;
  /** The first HEAD_BYTES raw bytes (fewer if the input is shorter). */
  head: Buffer;
  /** A regular file's identity when opened, to tell whether it changed while it was read; null for streams. */
  identity: FileIdentity | null;
  /** Throws a DataError when the file changed (size or modification time) since it was opened. */
  checkUnchanged(): Promise<void>;
  close(): Promise<void>;
}

interface FileIdentity {
  size: number;
  mtimeMs: number;
}

/**
 * Opens an input once: `-` is standard input; a path may be a regular file, a FIFO or a
 * character device. `expected` says what was wanted, for messages ("a CSV file").
 * Throws a one-line DataError when it cannot be read.
 */
export async function openSource(file: string, expected = 'a CSV file'): Promise<Source> {
  const source = await openInput(file, expected);
  if (source === FOLDER) throw dataError(file, `is a directory; expected ${expected}`);
  return source;
}

/** What openInput gives for a folder (which commands that read images take as a folder of them). */
export const FOLDER = Symbol('folder');

/** As openSource, but a folder is not an error: FOLDER says that the path is one. */
export async function openInput(file: string, expected: string): Promise<Source | typeof FOLDER> {
  if (file === STDIN) return memorySource(STDIN_NAME, await readStdin());
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw asOpenError(err, file, expected);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) {
      await fh.close();
      return FOLDER;
    }
    if (st.isBlockDevice()) throw dataError(file, `is a block device; expected ${expected}`);
    if (!st.isFile()) {
      const bytes = await readAll(fh, file);
      await fh.close();
      return memorySource(file, bytes);
    }
    if (st.size === 0) throw dataError(file, `is empty (0 bytes); expected ${expected}`);
    const headBuffer = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    const { bytesRead } = await fh.read(headBuffer, 0, headBuffer.length, 0);
    const head = headBuffer.subarray(0, bytesRead);
    const gzip = isGzip(head);
    const identity: FileIdentity = { size: st.size, mtimeMs: st.mtimeMs };
    return {
      name: file,
      bytes: { fd: fh.fd, size: st.size, gzip },
      size: st.size,
      gzip,
      head,
      identity,
      async checkUnchanged() {
        const now = await fh.stat();
        // Not ctime: it changes when the file is only renamed over (its link count drops), which leaves its bytes alone.
        if (now.size !== identity.size || now.mtimeMs !== identity.mtimeMs) {
          throw dataError(file, 'changed while kconv was reading it; run again once nothing is writing to it');
        }
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw asOpenError(err, file, expected);
  }
}

/** Bytes already in memory (a stream read whole, a request body) as an input. */
export function memorySource(name: string, bytes: Buffer): Source {
  if (bytes.length === 0) throw dataError(name, 'is empty (no bytes arrived)');
  const gzip = isGzip(bytes);
  return {
    name,
    bytes: { bytes, gzip },
    size: bytes.length,
    gzip,
    head: bytes.subarray(0, HEAD_BYTES),
    identity: null,
    checkUnchanged: async () => undefined,
    close: async () => undefined,
  };
}

/** A FIFO or device read to its end, in memory; stops early on what is plainly not text or gzip (/dev/zero). */
async function readAll(fh: FileHandle, name: string): Promise<Buffer> {
  return collect(name, async function* () {
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return;
      yield chunk.subarray(0, bytesRead);
    }
  }());
}

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) {
    throw new DataError(`${STDIN_NAME}: standard input is a terminal; pipe or redirect the data into kconv (e.g. kconv predict - < test.csv)`, STDIN_NAME);
  }
  return collect(STDIN_NAME, process.stdin as AsyncIterable<Buffer>);
}

async function collect(name: string, chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  let checked = false;
  try {
    for await (const chunk of chunks) {
      parts.push(chunk);
      length += chunk.length;
      if (length > MAX_STREAM_BYTES) {
        throw dataError(name, `more than ${MAX_STREAM_BYTES / 2 ** 30} GiB arrived, more than kconv holds from a stream; save the data to a file and give its name`);
      }
      if (!checked && length >= HEAD_BYTES) {
        checked = true;
        // Binary data that is neither gzip nor idx will be refused by the sniffer, with a line number, from the head alone.
        const head = Buffer.concat(parts).subarray(0, HEAD_BYTES);
        if (!isGzip(head) && !isIdxMagic(head) && pictureFormat(head) === null && head.includes(0)) return head;
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw dataError(name, `cannot read: ${(err as Error).message}`);
  }
  return Buffer.concat(parts, length);
}

/**
 * All the raw bytes of an opened input (a picture is decoded from them): a stream's are
 * in memory already; a regular file's are read at positions from its descriptor.
 * Refuses more than `max` bytes before reading them.
 */
export async function sourceBytes(src: Source, max: number, tooLarge: string): Promise<Uint8Array> {
  if (src.size > max) throw dataError(src.name, tooLarge);
  const from = src.bytes;
  if ('bytes' in from) return from.bytes;
  const out = Buffer.allocUnsafe(from.size);
  let got = 0;
  while (got < from.size) {
    const n = await new Promise<number>((resolve, reject) => read(from.fd, out, got, from.size - got, got, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
    if (n === 0) break;
    got += n;
  }
  await src.checkUnchanged();
  return out.subarray(0, got);
}

/** The bytes from `start` (inclusive) to `end` (exclusive), or all of them decompressed for gzip. */
export function byteStream(src: ByteSource, start = 0, end?: number): Readable {
  if (src.gzip) {
    const gunzip = createGunzip();
    const raw = rawStream(src, 0, 'bytes' in src ? src.bytes.length : src.size);
    raw.on('error', (err) => gunzip.destroy(err));
    gunzip.on('close', () => raw.destroy()); // a reader that stops early must stop reading too
    return raw.pipe(gunzip);
  }
  return rawStream(src, start, end ?? ('bytes' in src ? src.bytes.length : src.size));
}

function rawStream(src: ByteSource, start: number, end: number): Readable {
  if (end <= start) return Readable.from([]);
  if ('bytes' in src) {
    const { bytes } = src;
    return Readable.from(
      (function* () {
        for (let at = start; at < end; at += CHUNK_BYTES) yield Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(CHUNK_BYTES, end - at));
      })(),
      { objectMode: false },
    );
  }
  return descriptorStream(src.fd, start, end);
}

/**
 * Positional reads of the one descriptor, from `start` to `end`. Never closes it (its
 * owner does): fs.createReadStream closes a descriptor it was given when the stream is
 * destroyed early, even with autoClose off.
 */
function descriptorStream(fd: number, start: number, end: number): Readable {
  let pos = start;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      const want = Math.min(CHUNK_BYTES, end - pos);
      if (want <= 0) {
        this.push(null);
        return;
      }
      const buf = Buffer.allocUnsafe(want);
      read(fd, buf, 0, want, pos, (err, got) => {
        if (err) return this.destroy(err);
        if (got === 0) return this.push(null); // the file became shorter: checkUnchanged says so
        pos += got;
        this.push(got < want ? buf.subarray(0, got) : buf);
      });
    },
  });
}

/** For a missing file that kconv download makes (train.csv, …, or an official idx file): where to get it. */
export function downloadHint(file: string): string {
  const name = basename(file);
  const made = CSV_FILES.some((c) => c.name === name) || (OFFICIAL_FILES as readonly string[]).includes(name);
  return made ? `; ${name} is one of the Kannada-MNIST files kconv download fetches (into data/kannada/; --mirror fetches from elsewhere)` : '';
}

function asOpenError(err: unknown, file: string, expected: string): Error {
  if (err instanceof DataError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return dataError(file, `file not found (check the path)${downloadHint(file)}`);
  if (code === 'EACCES' || code === 'EPERM') return dataError(file, 'cannot read the file (permission denied)');
  if (code === 'EISDIR') return dataError(file, `is a directory; expected ${expected}`);
  return dataError(file, `cannot open: ${(err as Error)?.message ?? String(err)}`);
}
