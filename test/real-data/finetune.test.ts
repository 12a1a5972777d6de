/**
 * Fine-tuning on the real data, bench/finetune.mjs cut short: a small model trained on
 * train.csv, taught the first 200 rows of Dig-MNIST (20 per digit, prepared as the page
 * prepares a drawing) with a replay of train.csv, gets better on the next 100 rows (never
 * seen) and stays about as good on val.csv. Loose bars: the README has the measured figures.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataset, type Images } from '../../src/data/index.js';
import { preprocess } from '../../src/image/preprocess.js';
import { loadModel, type ModelFile } from '../../src/model/weights-file.js';
import { evaluate } from '../../src/batch/evaluate.js';
import { fineTune, subsetImages } from '../../src/train/finetune.js';
import { kconv } from '../helpers/in-process.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

let model: ModelFile;
let user: Images;
let train: Images;
let val: Images;
const rows = (from: number, to: number) => Int32Array.from({ length: to - from }, (_, i) => from + i);

beforeAll(async () => {
  const dir = tempDir('kconv-finetune-data-');
  const r = await kconv(['train', dataFile('train.csv'), '--arch', 'default', '--epochs', '3', '--augment', '--no-val', '--out', join(dir, 'base.json')]);
  expect(r.code, r.stderr).toBe(0);
  model = await loadModel(join(dir, 'base.json'));
  const dig = (await readDataset(dataFile('Dig-MNIST.csv'), { requireLabels: true })).images;
  const pixels = new Uint8Array(300 * 784);
  for (let i = 0; i < 300; i++) pixels.set(preprocess({ width: 28, height: 28, channels: 1, data: dig.pixels.subarray(i * 784, (i + 1) * 784) }), i * 784);
  user = { n: 300, pixels, labels: dig.labels!.slice(0, 300), ids: null };
  train = (await readDataset(dataFile('train.csv'))).images;
  val = (await readDataset(dataFile('val.csv'))).images;
});

describe('teaching a model one writer\'s digits', () => {
  it('the first 30 rows of each digit, 20 taught and 10 measured', () => {
    expect(Array.from(user.labels!.subarray(0, 20))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const per = new Array(10).fill(0);
    for (const l of user.labels!.subarray(200, 300)) per[l]++;
    expect(per).toEqual(new Array(10).fill(10));
  });

  it('gains on the writer\'s unseen digits, and keeps val.csv', async () => {
    const teach = subsetImages(user, rows(0, 200));
    const test = subsetImages(user, rows(200, 300));
    const r = await fineTune(model, teach, { replay: train, replayVal: val, heldOut: { kind: 'none' }, threads: 2, replayFile: 'train.csv' });
    const before = evaluate(model.net, model.input, test, null).acc;
    const after = evaluate(r.model.net, r.model.input, test, null).acc;
    console.log(`the writer's 100 other digits ${(before * 100).toFixed(1)}% → ${(after * 100).toFixed(1)}%; val.csv ${(r.before.replay! * 100).toFixed(2)}% → ${(r.after.replay! * 100).toFixed(2)}%; ${r.seconds.toFixed(1)} s`);
    expect(after).toBeGreaterThanOrEqual(before + 0.03);
    expect(r.after.replay!).toBeGreaterThanOrEqual(r.before.replay! - 0.01);
    expect(r.model.training!.replay).toMatchObject({ file: 'train.csv', images: 8000 });
  });
});
