/**
 * Fine-tuning (train/finetune.ts) on two threads (worker threads): frozen layers stay
 * bit-identical, and stopping throws and leaves the init model untouched, as on one
 * thread (test/unit/finetune.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { NO_AUGMENTATION } from '../../src/augment/augment.js';
import { fineTune, FineTuneStopped, type FineTuneOptions } from '../../src/train/finetune.js';
import { digitsDataset } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';
import { same, snapshot, unchangedUpTo } from '../helpers/network-arrays.js';

/** Four layers with parameters: conv, bn, conv, dense. */
const ARCH = 'conv4k3p1,bn,relu,pool2,conv8k3p1,relu,pool2,dense10';
const samples = digitsDataset(120, 7);
const replay = digitsDataset(300, 8);
const TWO: FineTuneOptions = { epochs: 2, lr: 0.01, batchSize: 16, augment: NO_AUGMENTATION, threads: 2, seed: 3 };

describe('frozen layers', () => {
  const init = modelOf(ARCH, 2);
  // freeze 2 = conv4 and its batchnorm: layers 0 and 1 stay; conv8 (layer 4) learns.
  it('freeze 2 leaves the first conv and batchnorm (weights and running statistics) bit-identical on 2 threads, and the rest learns', async () => {
    const r = await fineTune(init, samples, { ...TWO, freeze: 2, replay, replayVal: replay });
    expect(unchangedUpTo(init, r.model, 2)).toBe(true);
    expect(unchangedUpTo(init, r.model, 5)).toBe(false);
  });
});

describe('stopping', () => {
  it('shouldStop (or the abort signal) ends the run with FineTuneStopped, the init model untouched (2 threads)', async () => {
    const init = modelOf(ARCH, 6);
    const before = snapshot(init.net);
    let batches = 0;
    await expect(fineTune(init, samples, { ...TWO, replay, events: { onBatch: () => batches++, shouldStop: () => batches >= 2 } })).rejects.toThrow(FineTuneStopped);
    expect(batches).toBe(2);
    expect(init.net.state().every((v, k) => same(v, before[k]))).toBe(true);
    const abort = new AbortController();
    abort.abort();
    await expect(fineTune(init, samples, { ...TWO, signal: abort.signal })).rejects.toThrow(FineTuneStopped);
  });
});
