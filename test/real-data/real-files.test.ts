/**
 * The reader on the real Kannada-MNIST files (not in the repository): $KCONV_DATA,
 * by default ../shared/data/kannada next to the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset as readDataFile, type InternalReadOptions, type LoadInfo, type ReadOptions } from '../../src/data/index.js';
import { tempDir, type TempDir } from '../helpers/csv-fixture.js';
import { flat, type Flat } from '../helpers/flat.js';

type Dataset = Flat;
const readDataset = async (file: string, opts: ReadOptions & InternalReadOptions) => flat(await readDataFile(file, opts));

const DATA = process.env.KCONV_DATA ?? path.resolve('../shared/data/kannada');
const at = (name: string) => path.join(DATA, name);

/** Sums and counts from a plain line split, independent of the reader. */
function simpleParse(file: string) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0].split(',');
  const labelAt = header.indexOf('label');
  const idAt = header.indexOf('id');
  let pixelSum = 0;
  const labelCounts = new Array(10).fill(0);
  const ids: number[] = [];
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    fields.forEach((f, i) => {
      if (i === labelAt) labelCounts[Number(f)]++;
      else if (i === idAt) ids.push(Number(f));
      else pixelSum += Number(f);
    });
  }
  return { rows: lines.length - 1, pixelSum, labelCounts, ids, firstRow: lines[1].split(',').map(Number) };
}

function sum(a: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

let tmp: TempDir;
beforeAll(async () => {
  if (!existsSync(at('train.csv'))) throw new Error(`no Kannada-MNIST data in ${DATA}: set KCONV_DATA`);
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.remove();
});

describe('real Kannada-MNIST files', () => {
  it.each([
    ['train.csv', 8000, 'label'],
    ['val.csv', 1000, 'label'],
    ['test.csv', 1000, 'id'],
    ['Dig-MNIST.csv', 10240, 'label'],
  ] as const)('%s has %i rows with a %s header, values as a plain parse sees them', async (name, rows, header) => {
    const ds = await readDataset(at(name), { cache: false });
    expect(ds.n).toBe(rows);
    expect(ds.header).toBe(header);
    expect(ds.pixels.length).toBe(rows * 784);
    expect(ds.skipped.count).toBe(0);
    const plain = simpleParse(at(name));
    expect(plain.rows).toBe(rows);
    expect(sum(ds.pixels)).toBe(plain.pixelSum);
    expect(Array.from(ds.pixels.subarray(0, 784))).toEqual(plain.firstRow.slice(header === 'label' || header === 'id' ? 1 : 0));
    if (header === 'label') {
      const counts = new Array(10).fill(0);
      for (const l of ds.labels!) counts[l]++;
      expect(counts).toEqual(plain.labelCounts);
    }
  });

  it('train.csv has 800 images of each digit', async () => {
    const ds = await readDataset(at('train.csv'), { cache: false });
    const counts = new Array(10).fill(0);
    for (const l of ds.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(800));
  });

  it('test.csv has ids 0..999 and no labels', async () => {
    const ds = await readDataset(at('test.csv'), { cache: false });
    expect(ds.labels).toBeNull();
    expect(Array.from(ds.ids!)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('a warm (cached) read equals the cold read', async () => {
    const cacheDir = path.join(tmp.dir, 'cache');
    const infos: LoadInfo[] = [];
    const onLoad = (i: LoadInfo) => infos.push(i);
    const cold = await readDataset(at('Dig-MNIST.csv'), { cacheDir, onLoad });
    const t0 = performance.now();
    const warm = await readDataset(at('Dig-MNIST.csv'), { cacheDir, onLoad });
    const warmMs = performance.now() - t0;
    expect(infos.map((i) => i.source)).toEqual(['parse', 'cache']);
    expectSame(warm, cold);
    expect(warmMs).toBeLessThan(1000);
  });

  it('the fast CSV path and csv-parse alone read every real file to the same bytes', async () => {
    for (const name of ['train.csv', 'val.csv', 'test.csv', 'Dig-MNIST.csv']) {
      const fast = await readDataset(at(name), { cache: false, threads: 1, csvParser: 'fast' });
      const general = await readDataset(at(name), { cache: false, threads: 1, csvParser: 'general' });
      expectSame(fast, general);
    }
  });

  const dist = fileURLToPath(new URL('../../dist/data/index.js', import.meta.url));
  it.skipIf(!existsSync(dist))('a parallel read of the built reader equals a single-thread read', async () => {
    const built = (await import(dist)) as typeof import('../../src/data/index.js');
    let threads = 0;
    const multi = flat(await built.readDataset(at('Dig-MNIST.csv'), { cache: false, threads: 2, onLoad: (i) => (threads = i.threads) }));
    const single = await readDataset(at('Dig-MNIST.csv'), { cache: false, threads: 1 });
    expect(threads).toBe(2);
    expectSame(multi, single);
  });
});

function expectSame(a: Dataset, b: Dataset): void {
  expect([a.n, a.header, a.file, a.skipped]).toEqual([b.n, b.header, b.file, b.skipped]);
  expect(Buffer.compare(a.pixels, b.pixels)).toBe(0);
  expect(Buffer.compare(a.labels ?? Buffer.alloc(0), b.labels ?? Buffer.alloc(0))).toBe(0);
  expect(a.ids === null ? null : Array.from(a.ids)).toEqual(b.ids === null ? null : Array.from(b.ids));
}
