/**
 * The accuracy recipe on two worker threads: kconv train with augmentation, label
 * smoothing and EMA gives the weights one thread gives, and test-time augmentation the
 * probabilities. predict() keeps small jobs on one thread whatever it is given
 * (src/predict/threads.ts): here every job gets the threads it is given, so that the
 * workers really run. The rest is in test/unit/recipe.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { parseModel } from '../../src/model/weights-file.js';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { predict } from '../../src/predict/predict.js';
import { inProcessIn } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';

vi.mock('../../src/predict/threads.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/predict/threads.js')>();
  return { ...actual, predictThreads: (available: number) => available };
});

afterEach(() => {
  vi.restoreAllMocks();
});

let dir: string;
let data: string;
const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
const run = inProcessIn(() => dir, env);
const SMALL = ['--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--lr-schedule', 'constant'];
const RECIPE = ['--augment', '--elastic', '20', '--stroke', '0.4', '--contrast', '0.2', '--erase', '0.3', '--label-smoothing', '0.1', '--ema', '0.9'];
const read = (f: string) => parseModel(readFileSync(join(dir, f), 'utf8'), f);
const weights = (f: string) => read(f).net.state().map((v) => Array.from(v));

beforeAll(() => {
  dir = tempDir();
  data = writeDigits(dir, 'digits.csv', 300, 1);
});

describe('the recipe options in kconv train', () => {
  it('gives the same weights on 1 and 2 threads', async () => {
    await run(['train', data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '1', '--out', 'r1.json']);
    await run(['train', data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '2', '--out', 'r2.json']);
    const a = weights('r1.json');
    const b = weights('r2.json');
    a.forEach((arr, k) => arr.forEach((v, i) => expect(Math.abs(v - b[k][i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)))));
  });
});

describe('test-time augmentation', () => {
  it('--tta N on 2 threads gives the probabilities one thread gives', async () => {
    await run(['train', data, ...SMALL, '--epochs', '1', '--threads', '1', '--out', 't.json']);
    const model = read('t.json');
    const { images } = await readDataset(writeDigits(dir, 'big.csv', 600, 3));
    const create = vi.spyOn(DataParallel, 'create');
    const one = await predict(model, images, 1, 4);
    const two = await predict(model, images, 2, 4);
    expect(create.mock.calls.map((call) => call[0])).toEqual([2]);
    expect(Array.from(two.probs)).toEqual(Array.from(one.probs));
  });
});
