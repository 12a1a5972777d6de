import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { DEFAULT_INPUT } from '../../src/model/weights-file.js';
import { fillBatch, range } from '../../src/batch/fill.js';
import { Augmenter, NO_AUGMENTATION } from '../../src/augment/augment.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

// Short versions of step 7's checks, strong enough to catch a broken augmentation or dropout.
let train: Dataset;
let dir: string;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });
const accuracyOf = (report: string) => Number(/accuracy (\d+\.\d+)%/.exec(report)![1]) / 100;

beforeAll(async () => {
  dir = tempDir('kconv-aug-');
  train = (await readDataset(dataFile('train.csv'))).images;
});

/** All images as float32 (0–1), plain or augmented for one epoch. */
function images(augmentEpoch: number | null): Float32Array {
  const x = new Float32Array(train.n * 784);
  const aug = augmentEpoch === null ? null : new Augmenter({ ...NO_AUGMENTATION, affine: true }, 1);
  if (aug) aug.epoch = augmentEpoch!;
  fillBatch(train, range(train.n), 0, train.n, DEFAULT_INPUT, x, null, aug);
  return x;
}

function classMeans(x: Float32Array): Float64Array[] {
  const means = Array.from({ length: 10 }, () => new Float64Array(784));
  const counts = new Array(10).fill(0);
  for (let i = 0; i < train.n; i++) {
    const y = train.labels![i];
    counts[y]++;
    for (let j = 0; j < 784; j++) means[y][j] += x[i * 784 + j];
  }
  means.forEach((m, y) => m.forEach((_, j) => (m[j] /= counts[y])));
  return means;
}

/** Accuracy of the nearest class mean (by correlation) on every image. */
function nearestMeanAccuracy(x: Float32Array, means: Float64Array[]): number {
  let correct = 0;
  for (let i = 0; i < train.n; i++) {
    let best = -Infinity;
    let arg = 0;
    for (let c = 0; c < 10; c++) {
      let dot = 0;
      let norm = 0;
      for (let j = 0; j < 784; j++) {
        dot += x[i * 784 + j] * means[c][j];
        norm += means[c][j] * means[c][j];
      }
      const score = dot / Math.sqrt(norm);
      if (score > best) {
        best = score;
        arg = c;
      }
    }
    if (arg === train.labels![i]) correct++;
  }
  return correct / train.n;
}

describe('augmentation on the real digits', () => {
  it('augmented images keep their class statistics', () => {
    const plain = images(null);
    const augmented = images(1);
    const means = classMeans(plain);
    const augMeans = classMeans(augmented);
    for (let c = 0; c < 10; c++) {
      const a = means[c];
      const b = augMeans[c];
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let j = 0; j < 784; j++) {
        ab += a[j] * b[j];
        aa += a[j] * a[j];
        bb += b[j] * b[j];
      }
      expect(ab / Math.sqrt(aa * bb)).toBeGreaterThan(0.95);
    }
    const plainAcc = nearestMeanAccuracy(plain, means);
    const augAcc = nearestMeanAccuracy(augmented, means);
    expect(plainAcc).toBeGreaterThan(0.7);
    // Shifted and turned, templates match less well (0.83 → 0.62 here), but far above
    // chance (0.1): labels still go with their digits.
    expect(augAcc).toBeGreaterThan(0.5);
    expect(augAcc).toBeLessThan(plainAcc + 0.01);
  });

  it('the default net trained 3 epochs with --augment reaches ≥ 96.5% on val.csv', async () => {
    const r = await run(['train', dataFile('train.csv'), '--augment', '--epochs', '3', '--out', 'aug.json']);
    expect(r.code, r.stderr).toBe(0);
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'aug.json']);
    expect(accuracyOf(e.stdout)).toBeGreaterThanOrEqual(0.965);
  });

  it('a net with dropout trained 3 epochs reaches ≥ 95% on val.csv', async () => {
    const r = await run(['train', dataFile('train.csv'), '--arch', 'conv8k5,relu,pool2,conv16k5,relu,pool2,dropout0.3,dense64,relu,dropout0.3,dense10', '--epochs', '3', '--out', 'drop.json']);
    expect(r.code, r.stderr).toBe(0);
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'drop.json']);
    expect(accuracyOf(e.stdout)).toBeGreaterThanOrEqual(0.95);
  });
});
