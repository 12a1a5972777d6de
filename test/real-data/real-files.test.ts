/**
 * The reader on the real Kannada-MNIST files (not in the repository): $KCONV_DATA,
 * by default ../shared/data/kannada next to the repository.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readDataset as readDataFile } from '../../src/data/index.js';
import { flat, type Flat } from '../helpers/flat.js';

type Dataset = Flat;
const readDataset = async (file: string) => flat(await readDataFile(file));

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

beforeAll(() => {
  if (!existsSync(at('train.csv'))) throw new Error(`no Kannada-MNIST data in ${DATA}: set KCONV_DATA`);
});

/** The file read with KCONV_CSV set to `parser`. */
async function readWith(file: string, parser: 'fast' | 'general'): Promise<Dataset> {
  const before = process.env.KCONV_CSV;
  process.env.KCONV_CSV = parser;
  try {
    return await readDataset(file);
  } finally {
    if (before === undefined) delete process.env.KCONV_CSV;
    else process.env.KCONV_CSV = before;
  }
}

describe('real Kannada-MNIST files', () => {
  it.each([
    ['train.csv', 8000, 'label'],
    ['val.csv', 1000, 'label'],
    ['test.csv', 1000, 'id'],
    ['Dig-MNIST.csv', 10240, 'label'],
  ] as const)('%s has %i rows with a %s header, values as a plain parse sees them', async (name, rows, header) => {
    const ds = await readDataset(at(name));
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
    const ds = await readDataset(at('train.csv'));
    const counts = new Array(10).fill(0);
    for (const l of ds.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(800));
  });

  it('test.csv has ids 0..999 and no labels', async () => {
    const ds = await readDataset(at('test.csv'));
    expect(ds.labels).toBeNull();
    expect(Array.from(ds.ids!)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('the fast CSV path and csv-parse alone read every real file to the same bytes', async () => {
    for (const name of ['train.csv', 'val.csv', 'test.csv', 'Dig-MNIST.csv']) {
      const fast = await readWith(at(name), 'fast');
      const general = await readWith(at(name), 'general');
      expectSame(fast, general);
    }
  });
});

function expectSame(a: Dataset, b: Dataset): void {
  expect([a.n, a.header, a.file, a.skipped]).toEqual([b.n, b.header, b.file, b.skipped]);
  expect(Buffer.compare(a.pixels, b.pixels)).toBe(0);
  expect(Buffer.compare(a.labels ?? Buffer.alloc(0), b.labels ?? Buffer.alloc(0))).toBe(0);
  expect(a.ids === null ? null : Array.from(a.ids)).toEqual(b.ids === null ? null : Array.from(b.ids));
}
