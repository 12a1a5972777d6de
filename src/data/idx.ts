/**
 * Reading the official Kannada-MNIST (and MNIST) idx files: `*-idx3-ubyte` images
 * (magic 0x00000803, n×28×28 unsigned bytes) and `*-idx1-ubyte` labels (magic
 * 0x00000801, n bytes), gzip'd or not. Gzip is recognised by its first bytes (1f 8b),
 * never by the name. The files are small (the largest official one is 47 MB
 * uncompressed): each is read whole, gunzipped in one call (bounded), and its header
 * read with a DataView.
 */
import { read } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { dataError } from './data-error.js';
import { isIdxMagic } from './magic.js';
import { openSource, type Source } from './source.js';
import { PIXELS, type DataFile } from './types.js';

export interface IdxReadOptions {
  /**
   * The labels file. Default: found beside the images by name (see `labelsFileCandidates`);
   * when none of those exists the dataset has no labels. `false`: do not look for one.
   */
  labels?: string | false;
}

const readAt = promisify(read);
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const SIDE = 28;
/** The most data an idx file may hold (1.4 million images): checked before allocating. */
const MAX_DATA_BYTES = 2 ** 30;

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const magicHex = (magic: number) => `0x${magic.toString(16).padStart(8, '0')}`;

/**
 * Where the labels of an images file would be, by the official names: `X_` → `y_` at the
 * start and `idx3` → `idx1` (X_kannada_MNIST_test-idx3-ubyte.gz → y_kannada_MNIST_test-idx1-ubyte.gz),
 * and MNIST's `images` → `labels` (train-images-idx3-ubyte → train-labels-idx1-ubyte). With the
 * same compression suffix first, then with `.gz` added or removed. Empty when the name has no `idx3`.
 */
export function labelsFileCandidates(imagesPath: string): string[] {
  const dir = path.dirname(imagesPath);
  const base = path.basename(imagesPath);
  if (!base.includes('idx3')) return [];
  const name = base
    .replace(/^[Xx]_/, 'y_')
    .replace(/images(?=[-._]idx3)/, 'labels')
    .replace('idx3', 'idx1');
  const other = name.endsWith('.gz') ? name.slice(0, -3) : `${name}.gz`;
  return [name, other].map((n) => path.join(dir, n));
}

/** The first candidate labels file that exists, or null. */
export async function findLabelsFile(imagesPath: string): Promise<string | null> {
  for (const candidate of labelsFileCandidates(imagesPath)) {
    if ((await stat(candidate).catch(() => null))?.isFile()) return candidate;
  }
  return null;
}

/**
 * Reads an idx images file (a path, or a source already opened) and its labels (the
 * header is 'label' with labels, else 'pixels'; ids are null). Every fault is a one-line
 * DataError naming the file.
 */
export async function readIdxDataset(images: string | Source, opts: IdxReadOptions = {}): Promise<DataFile> {
  const { n, pixels } = await readIdxImages(images);
  const imagesName = typeof images === 'string' ? images : images.name;
  // Standard input has no name to find labels beside.
  const byName = typeof images === 'string' || images.identity !== null;
  const labelsPath = opts.labels === false ? null : opts.labels ?? (byName ? await findLabelsFile(imagesName) : null);
  let labels: Uint8Array | null = null;
  if (labelsPath !== null) {
    labels = await readIdxLabels(labelsPath);
    if (labels.length !== n) {
      throw dataError(
        labelsPath,
        `has ${labels.length} labels but ${imagesName} has ${n} images; the two files do not belong together (give the labels file of these images)`,
      );
    }
  }
  return { images: { n, pixels, labels, ids: null }, file: imagesName, format: 'idx', header: labels ? 'label' : 'pixels', skipped: { count: 0, lines: [] } };
}

/** An idx3 images file: n×28×28 unsigned bytes. */
export async function readIdxImages(file: string | Source): Promise<{ n: number; pixels: Uint8Array }> {
  const { dims, data } = await readIdx(file, IMAGES_MAGIC);
  return { n: dims[0], pixels: data };
}

/** An idx1 labels file: n digits 0..9. */
export async function readIdxLabels(file: string | Source): Promise<Uint8Array> {
  const { data } = await readIdx(file, LABELS_MAGIC);
  for (let i = 0; i < data.length; i++) {
    if (data[i] > 9) {
      const name = typeof file === 'string' ? file : file.name;
      throw dataError(name, `label ${data[i]} at index ${i} (0-based) is not a digit 0–9; give a Kannada-MNIST or MNIST labels file`);
    }
  }
  return data;
}

/** Reads a whole idx file whose magic must be `magic`: opened here when given a path. */
async function readIdx(file: string | Source, magic: number): Promise<{ dims: number[]; data: Uint8Array }> {
  const expected = magic === IMAGES_MAGIC ? `an idx images (idx3) file such as ${EXAMPLE.images}` : `an idx labels (idx1) file such as ${EXAMPLE.labels}`;
  if (typeof file !== 'string') return parseIdx(await wholeContent(file), file.name, file.gzip, magic);
  const source = await openSource(file, expected);
  try {
    return parseIdx(await wholeContent(source), file, source.gzip, magic);
  } finally {
    await source.close();
  }
}

const EXAMPLE = { images: 'X_kannada_MNIST_test-idx3-ubyte.gz', labels: 'y_kannada_MNIST_test-idx1-ubyte.gz' };

/** The source's bytes, whole, gunzipped when gzip'd; at most MAX_DATA_BYTES plus a header. */
async function wholeContent(source: Source): Promise<Uint8Array> {
  const limit = MAX_DATA_BYTES + 64;
  let raw: Uint8Array;
  if ('bytes' in source.bytes) {
    raw = source.bytes.bytes;
  } else {
    if (!source.gzip && source.size > limit) throw tooLarge(source.name);
    const buf = new Uint8Array(source.size); // its own memory, not a slice of Node's shared pool
    for (let done = 0; done < buf.length; ) {
      const { bytesRead: got } = await readAt(source.bytes.fd, buf, done, buf.length - done, done).catch((err: Error) => {
        throw dataError(source.name, `cannot read: ${err.message}`);
      });
      if (got === 0) throw dataError(source.name, 'changed while kconv was reading it (it became shorter); run again once nothing is writing to it');
      done += got;
    }
    raw = buf;
  }
  if (!source.gzip) return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: limit });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(source.name);
    if (e.code === 'Z_BUF_ERROR') {
      throw dataError(source.name, 'truncated: the gzip data is cut short (unexpected end of file); the file is incomplete: download it again');
    }
    // Node's gunzip also fails this way on bytes after the end of the gzip stream (trailing garbage).
    throw dataError(source.name, `the gzip data is corrupt or has bytes after its end (${e.message}); download the file again`);
  }
}

function tooLarge(name: string): DataError {
  return dataError(name, `holds more than ${MAX_DATA_BYTES / 2 ** 30} GiB of idx data, more than kconv can hold; give a Kannada-MNIST or MNIST idx file`);
}

/** Checks an idx file's header against `magic` and its length against the header. */
function parseIdx(bytes: Uint8Array, file: string, gzip: boolean, magic: number): { dims: number[]; data: Uint8Array } {
  const images = magic === IMAGES_MAGIC;
  const wanted = images ? 'images (idx3)' : 'labels (idx1)';
  const example = images ? EXAMPLE.images : EXAMPLE.labels;
  if (bytes.length < 4) {
    throw dataError(file, `not an idx file (only ${bytes.length} byte${bytes.length === 1 ? '' : 's'}${gzip ? ' after gunzip' : ''}); give an official ${example} file`);
  }
  const got = bytes.subarray(0, 4);
  if (!isIdxMagic(got)) {
    throw dataError(file, `not an idx file (it starts with bytes ${hex(got)}; an idx ${wanted} file starts with ${hex(bytesOf(magic))}); give an official ${example} file, gzip'd or not`);
  }
  const found = (got[2] << 8) | got[3];
  if (found !== magic) {
    if (got[2] !== 0x08) {
      throw dataError(file, `idx data of type ${TYPE_NAMES[got[2]]} (magic ${magicHex(found)}) is not supported; kconv reads unsigned bytes (magic ${magicHex(magic)})`);
    }
    const what = got[3] === 1 ? 'a labels (idx1) file' : got[3] === 3 ? 'an images (idx3) file' : `an idx file with ${got[3]} dimensions`;
    const advice = images ? 'give the images file (X_…-idx3-ubyte); its labels are found beside it' : 'give the labels file (y_…-idx1-ubyte)';
    throw dataError(file, `is ${what} (magic ${magicHex(found)}), expected ${wanted} (magic ${magicHex(magic)}); ${advice}`);
  }
  const ndims = magic & 0xff;
  const headBytes = 4 + 4 * ndims;
  if (bytes.length < headBytes) {
    throw dataError(file, `truncated: the idx header is cut short (${bytes.length} of ${headBytes} bytes); the file is incomplete: download it again`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headBytes);
  const dims = Array.from({ length: ndims }, (_, k) => view.getUint32(4 + 4 * k));
  if (images && (dims[1] !== SIDE || dims[2] !== SIDE)) {
    throw dataError(file, `the images are ${dims[1]}×${dims[2]}; kconv needs 28×28 images (Kannada-MNIST, MNIST)`);
  }
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected > MAX_DATA_BYTES) {
    throw dataError(file, `the header announces ${dims[0]} ${images ? 'images' : 'labels'} (${expected} bytes), more than kconv can hold; the file is corrupt: download it again`);
  }
  const filled = bytes.length - headBytes;
  if (filled < expected) {
    const whole = Math.floor(filled / PIXELS);
    const things = images ? `images of 28×28 (${expected} bytes)` : 'labels';
    throw dataError(
      file,
      `truncated: the header announces ${dims[0]} ${things} but only ${filled} bytes follow${images ? ` (${whole} whole image${whole === 1 ? '' : 's'})` : ''}; the file is incomplete: download it again`,
    );
  }
  if (filled > expected) {
    const extra = filled - expected;
    throw dataError(
      file,
      `${extra} unexpected byte${extra === 1 ? '' : 's'} after the ${dims[0]} ${images ? 'images' : 'labels'} the header announces (trailing data); the file is corrupt or not one idx file: download it again`,
    );
  }
  // A plain Uint8Array view (gunzip gives a Buffer), without copying the data.
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headBytes, expected) };
}

function bytesOf(magic: number): Uint8Array {
  return Uint8Array.of(magic >>> 24, (magic >>> 16) & 0xff, (magic >>> 8) & 0xff, magic & 0xff);
}
