/**
 * Reading the official Kannada-MNIST (and MNIST) idx files: `*-idx3-ubyte` images
 * (magic 0x00000803, n×28×28 unsigned bytes) and `*-idx1-ubyte` labels (magic
 * 0x00000801, n bytes), gzip'd or not. Gzip is recognised by its first bytes (1f 8b),
 * never by the name. The data is streamed (through gunzip when needed) straight into
 * the destination array: 60,000 images take their 47 MB once.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { dataError } from './data-error.js';
import { readFileHead } from './source.js';
import { PIXELS, type Dataset } from './types.js';

export interface IdxReadOptions {
  /**
   * The labels file. Default: found beside the images by name (see `labelsFileCandidates`);
   * when none of those exists the dataset has no labels. `false`: do not look for one.
   */
  labels?: string | false;
}

/** What an idx header says. */
export interface IdxHeader {
  /** The data type byte: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. */
  type: number;
  dims: number[];
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const SIDE = 28;
const CHUNK_BYTES = 1 << 20;
/** The first allocation for the data; it grows (by doubling) only when a header announces more. */
const FIRST_ALLOCATION = 64 * 1024 * 1024;
/** Larger than any Node typed array: a header announcing more is corrupt. */
const MAX_DATA_BYTES = 2 ** 32;

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

/** Whether 4 bytes are an idx magic number: two zero bytes, a known data type, 1 to 4 dimensions. */
function isIdxMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] in TYPE_NAMES && b[3] >= 1 && b[3] <= 4;
}

/**
 * Whether the file starts like an idx file (after gunzip of its first bytes when it is
 * gzip'd): so a reader can route it. Never throws: a file that cannot be read is not idx.
 */
export async function looksLikeIdx(file: string): Promise<boolean> {
  try {
    let head = await readFileHead(file, 64 * 1024);
    if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
      // A partial gzip stream: inflate what there is, without requiring its end.
      head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    }
    return isIdxMagic(head);
  } catch {
    return false;
  }
}

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
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not there: try the next
    }
  }
  return null;
}

/**
 * Reads an idx images file and its labels into a Dataset (ids are always null; the header
 * is 'label' with labels, else 'pixels'). Every fault is a one-line DataError naming the file.
 */
export async function readIdxDataset(imagesPath: string, opts: IdxReadOptions = {}): Promise<Dataset> {
  const images = await readIdxImages(imagesPath);
  const labelsPath = opts.labels === false ? null : opts.labels ?? (await findLabelsFile(imagesPath));
  let labels: Uint8Array | null = null;
  if (labelsPath !== null) {
    labels = await readIdxLabels(labelsPath);
    if (labels.length !== images.n) {
      throw dataError(
        labelsPath,
        `has ${labels.length} labels but ${imagesPath} has ${images.n} images; the two files do not belong together (give the labels file of these images)`,
      );
    }
  }
  return {
    n: images.n,
    pixels: images.pixels,
    labels,
    ids: null,
    file: imagesPath,
    skipped: { count: 0, lines: [] },
    header: labels ? 'label' : 'pixels',
  };
}

/** An idx3 images file: n×28×28 unsigned bytes. */
export async function readIdxImages(file: string): Promise<{ n: number; pixels: Uint8Array }> {
  const { dims, data } = await readIdx(file, IMAGES_MAGIC);
  return { n: dims[0], pixels: data };
}

/** An idx1 labels file: n digits 0..9. */
export async function readIdxLabels(file: string): Promise<Uint8Array> {
  const { data } = await readIdx(file, LABELS_MAGIC);
  for (let i = 0; i < data.length; i++) {
    if (data[i] > 9) {
      throw dataError(file, `label ${data[i]} at index ${i} (0-based) is not a digit 0–9; give a Kannada-MNIST or MNIST labels file`);
    }
  }
  return data;
}

/** Reads a whole idx file whose magic must be `magic`, validating the header as soon as it has arrived. */
async function readIdx(file: string, magic: number): Promise<{ dims: number[]; data: Uint8Array }> {
  const wanted = magic === IMAGES_MAGIC ? 'images (idx3)' : 'labels (idx1)';
  const example = magic === IMAGES_MAGIC ? 'X_kannada_MNIST_test-idx3-ubyte.gz' : 'y_kannada_MNIST_test-idx1-ubyte.gz';
  const ndims = magic & 0xff;
  const gzip = await openIdx(file, wanted, example);

  const head = new Uint8Array(4 + 4 * 4);
  let headLength = 0;
  let headNeeded = 4;
  let dims: number[] | null = null;
  let expected = 0;
  let data = new Uint8Array(0);
  let filled = 0;
  let extra = 0;

  const onMagic = () => {
    const got = head.subarray(0, 4);
    if (!isIdxMagic(got)) {
      throw dataError(file, `not an idx file (it starts with bytes ${hex(got)}; an idx ${wanted} file starts with ${hex(bytesOf(magic))}); give an official ${example} file, gzip'd or not`);
    }
    const found = (got[2] << 8) | got[3];
    if (found !== magic) {
      if (got[2] !== 0x08) {
        throw dataError(file, `idx data of type ${TYPE_NAMES[got[2]]} (magic ${magicHex(found)}) is not supported; kconv reads unsigned bytes (magic ${magicHex(magic)})`);
      }
      const what = got[3] === 1 ? 'a labels (idx1) file' : got[3] === 3 ? 'an images (idx3) file' : `an idx file with ${got[3]} dimensions`;
      const advice = magic === IMAGES_MAGIC ? 'give the images file (X_…-idx3-ubyte); its labels are found beside it' : 'give the labels file (y_…-idx1-ubyte)';
      throw dataError(file, `is ${what} (magic ${magicHex(found)}), expected ${wanted} (magic ${magicHex(magic)}); ${advice}`);
    }
    headNeeded = 4 + 4 * ndims;
  };

  const onDims = () => {
    const view = new DataView(head.buffer, head.byteOffset, headNeeded);
    dims = Array.from({ length: ndims }, (_, k) => view.getUint32(4 + 4 * k));
    if (magic === IMAGES_MAGIC && (dims[1] !== SIDE || dims[2] !== SIDE)) {
      throw dataError(file, `the images are ${dims[1]}×${dims[2]}; kconv needs 28×28 images (Kannada-MNIST, MNIST)`);
    }
    expected = dims.reduce((a, b) => a * b, 1);
    if (expected >= MAX_DATA_BYTES) {
      throw dataError(file, `the header announces ${dims[0]} ${magic === IMAGES_MAGIC ? 'images' : 'labels'} (${expected} bytes), more than kconv can hold; the file is corrupt: download it again`);
    }
    data = new Uint8Array(Math.min(expected, FIRST_ALLOCATION));
  };

  // pipeline() may report its own AbortError instead of what the consumer threw: keep ours.
  let fault: unknown = null;
  const consume = async (source: AsyncIterable<Buffer>) => {
    try {
      await fill(source);
    } catch (err) {
      fault = err;
      throw err;
    }
  };
  const fill = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      let at = 0;
      while (at < chunk.length) {
        if (dims === null) {
          const take = Math.min(headNeeded - headLength, chunk.length - at);
          head.set(chunk.subarray(at, at + take), headLength);
          headLength += take;
          at += take;
          if (headLength === 4 && headNeeded === 4) onMagic();
          if (headLength === headNeeded && headNeeded > 4) onDims();
        } else if (filled < expected) {
          if (filled === data.length) {
            const grown = new Uint8Array(Math.min(expected, data.length * 2));
            grown.set(data);
            data = grown;
          }
          const take = Math.min(data.length - filled, chunk.length - at);
          data.set(chunk.subarray(at, at + take), filled);
          filled += take;
          at += take;
        } else {
          extra += chunk.length - at;
          at = chunk.length;
        }
      }
    }
  };

  const raw = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  try {
    if (gzip) await pipeline(raw, createGunzip({ chunkSize: 256 * 1024 }), consume);
    else await pipeline(raw, consume);
  } catch (err) {
    throw asReadError(fault ?? err, file);
  }

  if (dims === null) {
    if (headLength < 4) {
      throw dataError(file, `not an idx file (only ${headLength} byte${headLength === 1 ? '' : 's'}${gzip ? ' after gunzip' : ''}); give an official ${example} file`);
    }
    throw dataError(file, `truncated: the idx header is cut short (${headLength} of ${headNeeded} bytes); the file is incomplete: download it again`);
  }
  const announced: number[] = dims;
  if (filled < expected) {
    const unit = magic === IMAGES_MAGIC ? PIXELS : 1;
    const whole = Math.floor(filled / unit);
    const things = magic === IMAGES_MAGIC ? `images of 28×28 (${expected} bytes)` : 'labels';
    throw dataError(
      file,
      `truncated: the header announces ${announced[0]} ${things} but only ${filled} bytes follow${magic === IMAGES_MAGIC ? ` (${whole} whole image${whole === 1 ? '' : 's'})` : ''}; the file is incomplete: download it again`,
    );
  }
  if (extra > 0) {
    throw dataError(
      file,
      `${extra} unexpected byte${extra === 1 ? '' : 's'} after the ${announced[0]} ${magic === IMAGES_MAGIC ? 'images' : 'labels'} the header announces (trailing data); the file is corrupt or not one idx file: download it again`,
    );
  }
  return { dims: announced, data: data.length === expected ? data : data.subarray(0, expected) };
}

function bytesOf(magic: number): Uint8Array {
  return Uint8Array.of(magic >>> 24, (magic >>> 16) & 0xff, (magic >>> 8) & 0xff, magic & 0xff);
}

/** Checks that the file is there, a regular file and not empty; returns whether it is gzip'd. */
async function openIdx(file: string, wanted: string, example: string): Promise<boolean> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw dataError(file, `is a directory; expected an idx ${wanted} file such as ${example}`);
    if (!st.isFile()) throw dataError(file, `is not a regular file; expected an idx ${wanted} file such as ${example}`);
    size = st.size;
  } catch (err) {
    throw asReadError(err, file);
  }
  if (size === 0) throw dataError(file, `is empty (0 bytes); expected an idx ${wanted} file such as ${example}`);
  let first: Buffer;
  try {
    first = await readFileHead(file, 2);
  } catch (err) {
    throw asReadError(err, file);
  }
  return first.length >= 2 && first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
}

function asReadError(err: unknown, file: string): Error {
  if (err instanceof DataError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return dataError(file, 'file not found (check the path)');
    case 'EACCES':
    case 'EPERM':
      return dataError(file, 'cannot read the file (permission denied)');
    case 'EISDIR':
      return dataError(file, 'is a directory; expected an idx file');
    case 'Z_BUF_ERROR':
      return dataError(file, 'truncated: the gzip data is cut short (unexpected end of file); the file is incomplete: download it again');
    case 'Z_DATA_ERROR':
      // Node's gunzip also fails this way on bytes after the end of the gzip stream (trailing garbage).
      return dataError(file, `the gzip data is corrupt or has bytes after its end (${e.message}); download the file again`);
  }
  return dataError(file, `cannot read: ${e?.message ?? String(err)}`);
}
