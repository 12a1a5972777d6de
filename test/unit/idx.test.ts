/**
 * The idx reader (src/data/idx.ts) on small synthetic idx files, gzip'd and plain:
 * reading, finding the labels beside the images by name, and every validation error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { idx } from '../helpers/idx-file.js';
import { DataError } from '../../src/errors.js';
import { labelsFileCandidates, readIdxDataset as readIdxDataFile, readIdxImages, readIdxLabels, type IdxReadOptions } from '../../src/data/idx.js';
import { sniffFormat } from '../../src/data/sniff.js';
import { openSource } from '../../src/data/source.js';
import { flat } from '../helpers/flat.js';

const readIdxDataset = async (file: string, opts?: IdxReadOptions) => flat(await readIdxDataFile(file, opts));

/** Whether the reader routes a file to the idx reader (false when it cannot be opened at all). */
async function looksLikeIdx(file: string): Promise<boolean> {
  const source = await openSource(file).catch(() => null);
  if (!source) return false;
  try {
    return sniffFormat(source) === 'idx';
  } finally {
    await source.close();
  }
}


/** n images whose pixels depend on the image and the position; labels 7, 8, 9, 0, 1, … */
function images(n: number, seed = 0): Uint8Array {
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 17 + (i >> 9)) % 256;
  return pixels;
}
const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i + 7) % 10);
const imagesIdx = (n: number, seed = 0) => idx([n, 28, 28], images(n, seed));
const labelsIdx = (n: number) => idx([n], labels(n));

let dir: string;
let counter = 0;
/** Writes into a fresh sub-folder (so that pairing by name sees only these files). */
async function files(entries: Record<string, Uint8Array | string>): Promise<(name: string) => string> {
  const sub = path.join(dir, String(counter++));
  await mkdir(sub);
  for (const [name, content] of Object.entries(entries)) await writeFile(path.join(sub, name), content);
  return (name) => path.join(sub, name);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kconv-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The DataError a read throws; checks it is one line and names `file`. */
async function failure(promise: Promise<unknown>, file: string): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  const e = error as DataError;
  expect(e.message).not.toContain('\n');
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  return e.message;
}

describe('reading idx files', () => {
  it.each([
    ['gzip', true],
    ['plain', false],
  ])('%s: images with their labels found beside them (X_ → y_, idx3 → idx1)', async (_, gz) => {
    const z = (b: Buffer) => (gz ? gzipSync(b) : b);
    const ext = gz ? '.gz' : '';
    const at = await files({
      [`X_kannada_MNIST_test-idx3-ubyte${ext}`]: z(imagesIdx(13)),
      [`y_kannada_MNIST_test-idx1-ubyte${ext}`]: z(labelsIdx(13)),
    });
    const ds = await readIdxDataset(at(`X_kannada_MNIST_test-idx3-ubyte${ext}`));
    expect(ds.n).toBe(13);
    expect(ds.pixels).toEqual(images(13));
    expect(ds.labels).toEqual(labels(13));
    expect(ds.ids).toBeNull();
    expect(ds.header).toBe('label');
    expect(ds.file).toBe(at(`X_kannada_MNIST_test-idx3-ubyte${ext}`));
    expect(ds.skipped).toEqual({ count: 0, lines: [] });
  });

  it('MNIST naming: train-images-idx3-ubyte → train-labels-idx1-ubyte, and the dotted t10k-images.idx3-ubyte', async () => {
    const at = await files({
      'train-images-idx3-ubyte': imagesIdx(4),
      'train-labels-idx1-ubyte': labelsIdx(4),
      't10k-images.idx3-ubyte.gz': gzipSync(imagesIdx(3, 1)),
      't10k-labels.idx1-ubyte.gz': gzipSync(labelsIdx(3)),
    });
    expect((await readIdxDataset(at('train-images-idx3-ubyte'))).labels).toEqual(labels(4));
    const t10k = await readIdxDataset(at('t10k-images.idx3-ubyte.gz'));
    expect(t10k.pixels).toEqual(images(3, 1));
    expect(t10k.labels).toEqual(labels(3));
  });

  it('the labels may differ in compression from the images (.gz added or removed)', async () => {
    const at = await files({ 'X_a-idx3-ubyte.gz': gzipSync(imagesIdx(2)), 'y_a-idx1-ubyte': labelsIdx(2) });
    expect((await readIdxDataset(at('X_a-idx3-ubyte.gz'))).labels).toEqual(labels(2));
    const at2 = await files({ 'X_b-idx3-ubyte': imagesIdx(2), 'y_b-idx1-ubyte.gz': gzipSync(labelsIdx(2)) });
    expect((await readIdxDataset(at2('X_b-idx3-ubyte'))).labels).toEqual(labels(2));
  });

  it('labelsFileCandidates: the names tried, same compression first', () => {
    expect(labelsFileCandidates('/d/X_kannada_MNIST_test-idx3-ubyte.gz')).toEqual(['/d/y_kannada_MNIST_test-idx1-ubyte.gz', '/d/y_kannada_MNIST_test-idx1-ubyte']);
    expect(labelsFileCandidates('/d/train-images-idx3-ubyte')).toEqual(['/d/train-labels-idx1-ubyte', '/d/train-labels-idx1-ubyte.gz']);
    expect(labelsFileCandidates('/d/images.bin')).toEqual([]);
  });

  it('no labels file beside the images: a dataset without labels', async () => {
    const at = await files({ 'X_alone-idx3-ubyte.gz': gzipSync(imagesIdx(5)) });
    const ds = await readIdxDataset(at('X_alone-idx3-ubyte.gz'));
    expect(ds.n).toBe(5);
    expect(ds.labels).toBeNull();
    expect(ds.ids).toBeNull();
    expect(ds.header).toBe('pixels');
  });

  it('labels given explicitly (any name), or not looked for with labels: false', async () => {
    const at = await files({ 'digits.idx': imagesIdx(6), 'answers.gz': gzipSync(labelsIdx(6)), 'y_digits.idx': labelsIdx(5) });
    expect((await readIdxDataset(at('digits.idx'), { labels: at('answers.gz') })).labels).toEqual(labels(6));
    const at2 = await files({ 'X_c-idx3-ubyte': imagesIdx(2), 'y_c-idx1-ubyte': labelsIdx(2) });
    expect((await readIdxDataset(at2('X_c-idx3-ubyte'), { labels: false })).labels).toBeNull();
  });

  it('gzip is recognised by its first bytes, not by the name', async () => {
    const at = await files({ 'X_d-idx3-ubyte': gzipSync(imagesIdx(3)), 'y_d-idx1-ubyte': labelsIdx(3), 'plain.gz': imagesIdx(2) });
    expect((await readIdxDataset(at('X_d-idx3-ubyte'))).pixels).toEqual(images(3));
    expect((await readIdxDataset(at('plain.gz'))).pixels).toEqual(images(2));
  });

  it('zero images is a valid (empty) file', async () => {
    const at = await files({ 'X_e-idx3-ubyte': imagesIdx(0), 'y_e-idx1-ubyte': labelsIdx(0) });
    const ds = await readIdxDataset(at('X_e-idx3-ubyte'));
    expect(ds.n).toBe(0);
    expect(ds.pixels.length).toBe(0);
    expect(ds.labels?.length).toBe(0);
  });

  it('more than the first allocation (64 MiB): 90,000 gzip\'d images stream in whole', async () => {
    const n = 90_000;
    const pixels = new Uint8Array(n * 784);
    for (let i = 0; i < n; i++) pixels[i * 784 + (i % 784)] = (i % 255) + 1;
    const at = await files({ 'X_big-idx3-ubyte.gz': gzipSync(idx([n, 28, 28], pixels), { level: 1 }) });
    const got = await readIdxImages(at('X_big-idx3-ubyte.gz'));
    expect(got.n).toBe(n);
    expect(Buffer.compare(Buffer.from(got.pixels.buffer, got.pixels.byteOffset, got.pixels.length), Buffer.from(pixels))).toBe(0);
  });

  it('readIdxLabels reads a labels file alone', async () => {
    const at = await files({ l: gzipSync(labelsIdx(11)) });
    expect(await readIdxLabels(at('l'))).toEqual(labels(11));
  });
});

describe('looksLikeIdx', () => {
  it('true for idx images and labels, gzip\'d or not; false for CSV, empty, missing and folders', async () => {
    const at = await files({
      img: imagesIdx(1),
      'img.gz': gzipSync(imagesIdx(1)),
      lab: labelsIdx(3),
      'lab.gz': gzipSync(labelsIdx(3)),
      'a.csv': 'label,pixel0\n1,0\n',
      'a.csv.gz': gzipSync(Buffer.from('label,pixel0\n1,0\n')),
      empty: '',
      'bad.gz': Buffer.from([0x1f, 0x8b, 1, 2, 3]),
    });
    for (const name of ['img', 'img.gz', 'lab', 'lab.gz']) expect(await looksLikeIdx(at(name)), name).toBe(true);
    for (const name of ['a.csv', 'a.csv.gz', 'empty', 'bad.gz', 'missing']) expect(await looksLikeIdx(at(name)), name).toBe(false);
    expect(await looksLikeIdx(dir)).toBe(false);
  });
});

describe('validation: one-line DataErrors naming the file', () => {
  it('a missing file', async () => {
    const file = path.join(dir, 'X_nothing-idx3-ubyte.gz');
    expect(await failure(readIdxDataset(file), file)).toBe(`${file}: file not found (check the path)`);
  });

  it('a missing labels file given explicitly', async () => {
    const at = await files({ 'X_f-idx3-ubyte': imagesIdx(2) });
    const labelsFile = at('nope-idx1-ubyte');
    expect(await failure(readIdxDataset(at('X_f-idx3-ubyte'), { labels: labelsFile }), labelsFile)).toMatch(/file not found/);
  });

  it('a directory', async () => {
    const at = await files({});
    const folder = at('');
    await mkdir(path.join(folder, 'X_g-idx3-ubyte'));
    const file = path.join(folder, 'X_g-idx3-ubyte');
    expect(await failure(readIdxDataset(file), file)).toMatch(/: is a directory; expected an idx images \(idx3\) file/);
  });

  it('an empty file', async () => {
    const at = await files({ e: '' });
    expect(await failure(readIdxDataset(at('e')), at('e'))).toMatch(/is empty \(0 bytes\)/);
  });

  it.each([
    ['a CSV file', Buffer.from('label,pixel0,pixel1\n1,0,0\n')],
    ['a gzip\'d CSV file', gzipSync(Buffer.from('label,pixel0,pixel1\n1,0,0\n'))],
    ['a wrong magic number', Buffer.from([0, 0, 7, 3, 0, 0, 0, 0])],
  ])('wrong magic (%s): "not an idx file"', async (_, content) => {
    const at = await files({ x: content });
    expect(await failure(readIdxDataset(at('x')), at('x'))).toMatch(/: not an idx file \(it starts with bytes [0-9a-f ]+; an idx images \(idx3\) file starts with 00 00 08 03\)/);
  });

  it('fewer than 4 bytes: not an idx file', async () => {
    const at = await files({ x: Buffer.from([0, 0]) });
    expect(await failure(readIdxDataset(at('x')), at('x'))).toMatch(/not an idx file \(only 2 bytes\)/);
  });

  it('a labels file given as images, and images given as labels', async () => {
    const at = await files({ lab: labelsIdx(3), img: imagesIdx(3) });
    expect(await failure(readIdxDataset(at('lab')), at('lab'))).toMatch(/is a labels \(idx1\) file \(magic 0x00000801\), expected images \(idx3\) \(magic 0x00000803\)/);
    expect(await failure(readIdxDataset(at('img'), { labels: at('img') }), at('img'))).toMatch(/is an images \(idx3\) file \(magic 0x00000803\), expected labels \(idx1\)/);
  });

  it('a data type other than unsigned bytes', async () => {
    const at = await files({ f: idx([1, 28, 28], new Uint8Array(784 * 4), 0x0d) });
    expect(await failure(readIdxDataset(at('f')), at('f'))).toMatch(/idx data of type float32 \(magic 0x00000d03\) is not supported/);
  });

  it('images that are not 28×28', async () => {
    const at = await files({ 'X_h-idx3-ubyte.gz': gzipSync(idx([2, 32, 32], new Uint8Array(2 * 32 * 32))) });
    expect(await failure(readIdxDataset(at('X_h-idx3-ubyte.gz')), at('X_h-idx3-ubyte.gz'))).toMatch(/the images are 32×32; kconv needs 28×28 images/);
  });

  it.each([
    ['plain', false],
    ['gzip', true],
  ])('truncated data (%s): fewer bytes than the header announces', async (_, gz) => {
    const cut = imagesIdx(3).subarray(0, 16 + 784 + 100);
    const at = await files({ t: gz ? gzipSync(cut) : cut });
    expect(await failure(readIdxDataset(at('t')), at('t'))).toBe(
      `${at('t')}: truncated: the header announces 3 images of 28×28 (2352 bytes) but only 884 bytes follow (1 whole image); the file is incomplete: download it again`,
    );
  });

  it('a truncated header', async () => {
    const at = await files({ t: imagesIdx(3).subarray(0, 10) });
    expect(await failure(readIdxDataset(at('t')), at('t'))).toMatch(/truncated: the idx header is cut short \(10 of 16 bytes\)/);
  });

  it('a header announcing more than can be held', async () => {
    const at = await files({ t: idx([0xffffffff, 28, 28], new Uint8Array(10)) });
    expect(await failure(readIdxDataset(at('t')), at('t'))).toMatch(/the header announces 4294967295 images .* more than kconv can hold/);
  });

  it('truncated labels', async () => {
    const at = await files({ 'X_i-idx3-ubyte': imagesIdx(4), 'y_i-idx1-ubyte': labelsIdx(4).subarray(0, 10) });
    expect(await failure(readIdxDataset(at('X_i-idx3-ubyte')), at('y_i-idx1-ubyte'))).toMatch(/truncated: the header announces 4 labels but only 2 bytes follow/);
  });

  it('a gzip stream cut short, and corrupt gzip data', async () => {
    const gz = gzipSync(imagesIdx(20, 3));
    const at = await files({ cut: gz.subarray(0, gz.length - 30), bad: Buffer.concat([gz.subarray(0, 10), Buffer.alloc(50, 0xff)]) });
    expect(await failure(readIdxDataset(at('cut')), at('cut'))).toMatch(/the gzip data is cut short \(unexpected end of file\)/);
    expect(await failure(readIdxDataset(at('bad')), at('bad'))).toMatch(/the gzip data is corrupt or has bytes after its end \(.+\); download the file again/);
  });

  it('counts of images and labels differ: names both files', async () => {
    const at = await files({ 'X_j-idx3-ubyte.gz': gzipSync(imagesIdx(5)), 'y_j-idx1-ubyte.gz': gzipSync(labelsIdx(4)) });
    const message = await failure(readIdxDataset(at('X_j-idx3-ubyte.gz')), at('y_j-idx1-ubyte.gz'));
    expect(message).toBe(`${at('y_j-idx1-ubyte.gz')}: has 4 labels but ${at('X_j-idx3-ubyte.gz')} has 5 images; the two files do not belong together (give the labels file of these images)`);
  });

  it('a label outside 0–9: gives its index', async () => {
    const bad = labels(6);
    bad[4] = 10;
    const at = await files({ 'X_k-idx3-ubyte': imagesIdx(6), 'y_k-idx1-ubyte': idx([6], bad) });
    expect(await failure(readIdxDataset(at('X_k-idx3-ubyte')), at('y_k-idx1-ubyte'))).toMatch(/label 10 at index 4 \(0-based\) is not a digit 0–9/);
  });

  it.each([
    ['plain', false],
    ['gzip', true],
  ])('trailing garbage (%s)', async (_, gz) => {
    const content = Buffer.concat([imagesIdx(3), Buffer.from('extra')]);
    const at = await files({ t: gz ? gzipSync(content) : content, l: Buffer.concat([labelsIdx(2), Buffer.from([1])]) });
    expect(await failure(readIdxDataset(at('t'), { labels: false }), at('t'))).toMatch(/5 unexpected bytes after the 3 images the header announces \(trailing data\)/);
    expect(await failure(readIdxLabels(at('l')), at('l'))).toMatch(/1 unexpected byte after the 2 labels/);
  });

  it('trailing garbage after the gzip stream', async () => {
    const at = await files({ t: Buffer.concat([gzipSync(imagesIdx(3)), Buffer.from('garbage')]) });
    expect(await failure(readIdxDataset(at('t')), at('t'))).toMatch(/the gzip data is corrupt or has bytes after its end \(incorrect header check\)/);
  });
});
