/**
 * The idx reader on the official Kannada-MNIST files in $KCONV_DATA/raw (default
 * ../shared/data/kannada/raw): the 10,000-image test set with its labels, and Dig-MNIST,
 * checked against the CSV files of the same folder, which were made from them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readIdxDataset as readIdxDataFile, readIdxLabels } from '../../src/data/idx.js';
import { sniffFormat } from '../../src/data/sniff.js';
import { openSource } from '../../src/data/source.js';
import { flat, type Flat } from '../helpers/flat.js';

type Dataset = Flat;
const readIdxDataset = async (file: string) => flat(await readIdxDataFile(file));
async function looksLikeIdx(file: string): Promise<boolean> {
  const source = await openSource(file);
  try {
    return sniffFormat(source) === 'idx';
  } finally {
    await source.close();
  }
}
import { dataFile } from '../helpers/real-data.js';

const X_TEST = 'raw/X_kannada_MNIST_test-idx3-ubyte.gz';
const X_DIG = 'raw/X_dig_MNIST-idx3-ubyte.gz';

/** A plain split of a Kaggle CSV, independent of kconv's reader. */
function plainCsv(file: string): { labels: number[] | null; images: Uint8Array[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0].split(',');
  const labelAt = header.indexOf('label');
  const first = header.indexOf('pixel0');
  expect(header.slice(first)).toEqual(Array.from({ length: 784 }, (_, x) => `pixel${x}`));
  const labels: number[] = [];
  const images: Uint8Array[] = [];
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    if (labelAt >= 0) labels.push(Number(fields[labelAt]));
    images.push(Uint8Array.from(fields.slice(first), Number));
  }
  return { labels: labelAt >= 0 ? labels : null, images };
}

const hashOf = (image: Uint8Array) => createHash('sha1').update(image).digest('hex');
const imageOf = (ds: Dataset, i: number) => ds.pixels.subarray(i * 784, (i + 1) * 784);

let test: Dataset;
beforeAll(async () => {
  dataFile('raw/y_kannada_MNIST_test-idx1-ubyte.gz'); // fails with a clear message when the folder is missing
  test = await readIdxDataset(dataFile(X_TEST));
});

describe('the official idx files', () => {
  it('X_kannada_MNIST_test + its labels (found beside it): 10,000 images, 1,000 of each digit', () => {
    expect(test.n).toBe(10_000);
    expect(test.pixels.length).toBe(10_000 * 784);
    expect(test.header).toBe('label');
    expect(test.ids).toBeNull();
    const counts = new Array(10).fill(0);
    for (const l of test.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });

  it('train.csv, val.csv and test.csv are the 10,000 test images, each used once, with the same labels', () => {
    // image hash → the labels of the idx images with that content (a multiset)
    const pool = new Map<string, number[]>();
    for (let i = 0; i < test.n; i++) {
      const h = hashOf(imageOf(test, i));
      pool.set(h, [...(pool.get(h) ?? []), test.labels![i]]);
    }
    let used = 0;
    for (const name of ['val.csv', 'train.csv', 'test.csv']) {
      const csv = plainCsv(dataFile(name));
      csv.images.forEach((image, row) => {
        const labels = pool.get(hashOf(image));
        expect(labels, `${name} row ${row + 1}: not among the idx test images`).toBeDefined();
        // test.csv has no labels (Kaggle's test layout): any copy will do; otherwise the same label
        const at = csv.labels ? labels!.indexOf(csv.labels[row]) : 0;
        expect(at, `${name} row ${row + 1}: label ${csv.labels?.[row]}, the idx says ${labels}`).toBeGreaterThanOrEqual(0);
        labels!.splice(at, 1);
        if (labels!.length === 0) pool.delete(hashOf(image));
        used++;
      });
    }
    expect(used).toBe(10_000);
    expect(pool.size).toBe(0);
  });

  it('X_dig_MNIST + labels equals Dig-MNIST.csv row for row', async () => {
    const dig = await readIdxDataset(dataFile(X_DIG));
    const csv = plainCsv(dataFile('Dig-MNIST.csv'));
    expect(dig.n).toBe(10_240);
    expect(csv.images.length).toBe(10_240);
    expect(Array.from(dig.labels!)).toEqual(csv.labels);
    for (let i = 0; i < dig.n; i++) {
      if (Buffer.compare(imageOf(dig, i), csv.images[i]) !== 0) expect.fail(`Dig-MNIST row ${i + 1} differs from idx image ${i}`);
    }
  });

  it('y_kannada_MNIST_train: 60,000 labels, 6,000 of each digit (its images are not in this folder)', async () => {
    const labels = await readIdxLabels(dataFile('raw/y_kannada_MNIST_train-idx1-ubyte.gz'));
    const counts = new Array(10).fill(0);
    for (const l of labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000));
  });

  it('the sniffer tells the idx files from the CSV files', async () => {
    for (const f of [X_TEST, X_DIG, 'raw/y_dig_MNIST-idx1-ubyte.gz']) expect(await looksLikeIdx(dataFile(f)), f).toBe(true);
    for (const f of ['val.csv', 'Dig-MNIST.csv']) expect(await looksLikeIdx(dataFile(f)), f).toBe(false);
  });
});
