import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MAX_IMAGES, PIXELS, sourceBytes, type DataFile, type Source } from '../data/index.js';
import { DataError } from '../errors.js';
import { decodeImage } from './decode.js';
import { preprocessImage } from './preprocess.js';

/**
 * Image files as a dataset: the paths given, in order, each folder's images in natural
 * name order (img2 before img10), every image preprocessed as MNIST was (preprocess.ts).
 * A folder whose subfolders are named 0 … 9 is the folder-per-digit layout: each image's
 * label is its subfolder's name.
 */

/** File names read as images inside a folder; other files there are counted as ignored. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/** A larger file is refused before it is read: 25 megapixels of PNG need at most ~100 MB. */
export const MAX_IMAGE_FILE_BYTES = 128 * 1024 * 1024;

export interface ImageFiles extends DataFile {
  format: 'images';
  /** Each image's path (folder joined with its name), in dataset order. */
  names: string[];
  /** With skipBad: the files that could not be read as images, and why (one line each). */
  badFiles: { file: string; reason: string }[];
  /** Files in the folders that are not .png/.jpg/.jpeg (hidden files are not counted). */
  ignored: string[];
  /**
   * The images (indices into `names`) in which preprocessing found no ink: an empty or
   * uniform picture, whose pixels are all 0 and which there is nothing to classify in.
   */
  blank: number[];
}

export interface ImageReadOptions {
  /** Skip files that are no readable image (reported in badFiles) instead of failing. */
  skipBad?: boolean;
  /** Fail unless every image has a label (all from 0/ … 9/ folders). */
  requireLabels?: boolean;
  /** Fail when no image is left. */
  requireRows?: boolean;
  /** Called after each file is decoded: files done, files in all. */
  onProgress?: (done: number, total: number) => void;
}

const SKIP_HINT = '(use --skip-bad-rows to skip files that are no image)';

const hasImageExtension = (name: string) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** Natural order: runs of digits compare as numbers, the rest by code unit; ties by code unit. */
export function naturalCompare(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ta.length !== tb.length) return ta.length - tb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function openError(error: unknown, path: string): DataError {
  if (error instanceof DataError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new DataError(`${path}: file not found (check the path)`, path);
  if (code === 'EACCES' || code === 'EPERM') return new DataError(`${path}: cannot read it (permission denied)`, path);
  return new DataError(`${path}: cannot read it (${code ?? (error as Error)?.message ?? String(error)})`, path);
}

/**
 * True when the inputs name image files by their names alone: several paths, or a
 * .png/.jpg/.jpeg name. One other path (or `-`) is told when it is opened: a folder of
 * images, or a file by its first bytes (readImageSource reads a PNG or JPEG among them).
 */
export function isImageInput(paths: readonly string[]): boolean {
  return paths.length > 1 || (paths.length === 1 && hasImageExtension(paths[0]));
}

/** A regular file's bytes, bounded; FIFOs and devices are refused without blocking on them. */
export async function readImageFile(path: string): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(error, path);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new DataError(`${path}: is a folder inside a folder of images; kconv reads one level (and 0/ … 9/ for labels)`, path);
    if (!st.isFile()) throw new DataError(`${path}: is not a regular file; expected a PNG or JPEG image`, path);
    if (st.size > MAX_IMAGE_FILE_BYTES) throw new DataError(`${path}: is ${Math.round(st.size / 1048576)} MB, more than kconv reads as an image (${MAX_IMAGE_FILE_BYTES / 1048576} MB): scale it down`, path);
    const bytes = new Uint8Array(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(bytes, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return bytes.subarray(0, got);
  } catch (error) {
    throw openError(error, path);
  } finally {
    await fh.close();
  }
}

interface Entry {
  file: string;
  label: number | null;
}

/** The images of one folder (natural order), or of its 0/ … 9/ subfolders with their labels. */
async function listFolder(dir: string, ignored: string[]): Promise<Entry[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort(naturalCompare);
  } catch (error) {
    throw openError(error, dir);
  }
  const digitDirs: string[] = [];
  const files: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let st;
    try {
      st = await stat(path);
    } catch {
      ignored.push(path); // a dangling link
      continue;
    }
    if (st.isDirectory()) {
      if (/^[0-9]$/.test(name)) digitDirs.push(name);
      else ignored.push(path);
    } else if (hasImageExtension(name)) {
      files.push(path);
    } else {
      ignored.push(path);
    }
  }
  if (digitDirs.length > 0 && files.length > 0) {
    throw new DataError(`${dir}: holds both images (${files[0]}, …) and digit folders (${join(dir, digitDirs[0])}/, …): put every image in its digit's folder 0/ … 9/, or keep the images alone`, dir);
  }
  if (digitDirs.length === 0) return files.map((file) => ({ file, label: null }));
  const entries: Entry[] = [];
  for (const d of digitDirs) {
    const sub = join(dir, d);
    let inner: string[];
    try {
      inner = (await readdir(sub)).sort(naturalCompare);
    } catch (error) {
      throw openError(error, sub);
    }
    for (const name of inner) {
      if (name.startsWith('.')) continue;
      const path = join(sub, name);
      if (hasImageExtension(name)) entries.push({ file: path, label: Number(d) });
      else ignored.push(path);
    }
  }
  return entries;
}

/** Reads image files and folders of images into a dataset (see the file's comment). */
export async function readImageFiles(paths: readonly string[], opts: ImageReadOptions = {}): Promise<ImageFiles> {
  const ignored: string[] = [];
  const entries: Entry[] = [];
  for (const path of paths) {
    let st;
    try {
      st = await stat(path);
    } catch (error) {
      throw openError(error, path);
    }
    if (st.isDirectory()) {
      const found = await listFolder(path, ignored);
      if (found.length === 0) throw new DataError(`${path}: holds no .png, .jpg or .jpeg images${ignored.length ? ` (only other files, such as ${ignored[0]})` : ''}`, path);
      entries.push(...found);
    } else {
      entries.push({ file: path, label: null });
    }
  }
  const labelled = entries.length > 0 && entries.every((e) => e.label !== null);
  if (opts.requireLabels && !labelled) {
    const loose = entries.find((e) => e.label === null);
    throw new DataError(`${loose?.file ?? paths[0]}: has no label: for labels, give a folder whose subfolders 0/ … 9/ hold each digit's images`, loose?.file);
  }
  if (entries.length > MAX_IMAGES) {
    throw new DataError(`${paths[0]}: ${entries.length.toLocaleString('en-US')} images are more than kconv reads at once (${MAX_IMAGES.toLocaleString('en-US')}): give fewer`, paths[0]);
  }
  return decodeAll(entries, (file) => readImageFile(file), labelled, opts, paths, ignored);
}

/**
 * One PNG or JPEG opened as an input (src/data/source.ts): a file named otherwise, or
 * standard input (named `stdin`). Its bytes are read from what was opened, once.
 */
export async function readImageSource(source: Source, opts: ImageReadOptions = {}): Promise<ImageFiles> {
  const name = source.name;
  if (opts.requireLabels) throw new DataError(`${name}: a picture alone has no label: for labels, give a folder whose subfolders 0/ … 9/ hold each digit's images`, name);
  const tooLarge = `is ${Math.round(source.size / 1048576)} MB, more than kconv reads as an image (${MAX_IMAGE_FILE_BYTES / 1048576} MB): scale it down`;
  const bytes = await sourceBytes(source, MAX_IMAGE_FILE_BYTES, tooLarge);
  return decodeAll([{ file: name, label: null }], async () => bytes, false, opts, [name], []);
}

/** Decodes and preprocesses each entry into one dataset (see readImageFiles). */
async function decodeAll(
  entries: Entry[], bytesOf: (file: string) => Promise<Uint8Array>, labelled: boolean,
  opts: ImageReadOptions, paths: readonly string[], ignored: string[],
): Promise<ImageFiles> {
  const pixels = new Uint8Array(entries.length * PIXELS);
  const labels = labelled ? new Uint8Array(entries.length) : null;
  const files: string[] = [];
  const badFiles: ImageFiles['badFiles'] = [];
  const blank: number[] = [];
  for (const entry of entries) {
    let image: ReturnType<typeof preprocessImage>;
    try {
      image = preprocessImage(decodeImage(await bytesOf(entry.file), entry.file));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      if (!opts.skipBad) throw new DataError(`${error.message} ${SKIP_HINT}`, entry.file);
      badFiles.push({ file: entry.file, reason: error.message });
      continue;
    }
    opts.onProgress?.(files.length + badFiles.length + 1, entries.length);
    if (!image.ink) blank.push(files.length);
    pixels.set(image.pixels, files.length * PIXELS);
    if (labels) labels[files.length] = entry.label!;
    files.push(entry.file);
  }
  const n = files.length;
  if (opts.requireRows && n === 0) {
    throw new DataError(`${paths.join(', ')}: no image could be read (${badFiles.length} skipped, the first: ${badFiles[0]?.reason ?? 'none given'})`, paths[0]);
  }
  return {
    images: { n, pixels: pixels.subarray(0, n * PIXELS), labels: labels ? labels.subarray(0, n) : null, ids: null },
    file: paths.length === 1 ? paths[0] : `${paths[0]} and ${paths.length - 1} more`,
    format: 'images',
    header: labels ? 'label' : 'pixels',
    skipped: { count: 0, lines: [] },
    names: files,
    badFiles,
    ignored,
    blank,
  };
}
