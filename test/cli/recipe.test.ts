/**
 * The accuracy recipe on two worker threads: kconv train with augmentation, label
 * smoothing and EMA gives the weights one thread gives, and test-time augmentation the
 * probabilities. predict() keeps small jobs on one thread whatever it is given
 * (src/predict/threads.ts): here every job gets the threads it is given, so that the
 * workers really run. The rest is in test/unit/recipe.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { predict } from '../../src/predict/predict.js';
import { writeDigits } from '../helpers/digits.js';
import { RECIPE, recipeFolder, SMALL } from '../helpers/recipe.js';

vi.mock('../../src/predict/threads.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/predict/threads.js')>();
  return { ...actual, predictThreads: (available: number) => available };
});

afterEach(() => {
  vi.restoreAllMocks();
});

const folder = recipeFolder();
const { run, read, weights } = folder;

describe('the recipe options in kconv train', () => {
  it('gives the same weights on 1 and 2 threads', async () => {
    await run(['train', folder.data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '1', '--out', 'r1.json']);
    await run(['train', folder.data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '2', '--out', 'r2.json']);
    const a = weights('r1.json');
    const b = weights('r2.json');
    a.forEach((arr, k) => arr.forEach((v, i) => expect(Math.abs(v - b[k][i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)))));
  });
});

describe('test-time augmentation', () => {
  it('--tta N on 2 threads gives the probabilities one thread gives', async () => {
    await run(['train', folder.data, ...SMALL, '--epochs', '1', '--threads', '1', '--out', 't.json']);
    const model = read('t.json');
    const { images } = await readDataset(writeDigits(folder.dir, 'big.csv', 600, 3));
    const create = vi.spyOn(DataParallel, 'create');
    const one = await predict(model, images, 1, 4);
    const two = await predict(model, images, 2, 4);
    expect(create.mock.calls.map((call) => call[0])).toEqual([2]);
    expect(Array.from(two.probs)).toEqual(Array.from(one.probs));
  });
});
