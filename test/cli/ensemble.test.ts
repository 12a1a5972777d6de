/**
 * predict on worker threads, for one model and an ensemble: the probabilities one thread
 * gives, with and without test-time augmentation. predict() keeps small jobs on one thread
 * whatever it is given (src/predict/threads.ts, tested in test/unit/predict-threads.test.ts);
 * here every job gets the threads it is given, so that the workers really run. The rest of
 * the ensembles is in test/unit/ensemble.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_INPUT } from '../../src/model/weights-file.js';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { predict } from '../../src/predict/predict.js';
import { modelOf, randomImages } from '../helpers/models.js';

vi.mock('../../src/predict/threads.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/predict/threads.js')>();
  return { ...actual, predictThreads: (available: number) => available };
});

const A = modelOf('conv4k5,relu,pool2,dense10', 1);
const B = modelOf('conv4k3p1,bn,relu,avgpool2,dense16,relu,dense10', 2, { ...DEFAULT_INPUT, mean: 0.1307, std: 0.3081 });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('predict on an ensemble, on 2 worker threads', () => {
  it('one model: bit for bit what one thread gives, alone or as an ensemble of one, with and without TTA', async () => {
    const images = randomImages(300, 9);
    const create = vi.spyOn(DataParallel, 'create');
    for (const tta of [1, 3]) {
      const one = (await predict(A, images, 1, tta)).probs;
      expect(Array.from((await predict(A, images, 2, tta)).probs), `tta ${tta}`).toEqual(Array.from(one));
      expect(Array.from((await predict([A], images, 2, tta)).probs), `tta ${tta}`).toEqual(Array.from(one));
    }
    expect(create).toHaveBeenCalledTimes(4);
    expect(create.mock.calls.every((call) => call[0] === 2)).toBe(true);
  });

  it('two models: the mean of their probabilities, each with its own preprocessing and its own test-time views', async () => {
    const images = randomImages(300, 10);
    const create = vi.spyOn(DataParallel, 'create');
    for (const tta of [1, 2]) {
      const pa = (await predict(A, images, 1, tta)).probs;
      const pb = (await predict(B, images, 1, tta)).probs;
      const p = await predict([A, B], images, 2, tta);
      expect(Array.from(p.probs)).toEqual(Array.from(pa, (v, i) => Math.fround((v + pb[i]) / 2)));
    }
    expect(create).toHaveBeenCalledTimes(4);
  });
});
