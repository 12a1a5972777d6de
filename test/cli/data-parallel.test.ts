/**
 * Training's data-parallel engine (src/parallel/data-parallel.ts), in-process: one step's
 * gradients on 2 threads equal one thread's to float rounding, with every augmentation,
 * label smoothing and dropout on, so a run does not depend on the thread count. The worker threads run
 * dist/parallel/worker.js (`npm test` builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork } from '../../src/net/index.js';
import { DEFAULT_INPUT } from '../../src/net/input.js';
import type { Sequential } from '../../src/net/sequential.js';
import { Augmenter, NO_AUGMENTATION, type AugmentSettings } from '../../src/augment/augment.js';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { GradientStep } from '../../src/batch/step.js';
import { digitsDataset } from '../helpers/digits.js';

/** A 5×5 conv on im2col and a 3×3 one on Winograd F(4×4); dropout, whose masks are keyed by the image's row. */
const ARCH = 'conv4k5p2,relu,pool2,conv6k3p1,relu,pool2,dropout0.4,dense10';
const STEP = 6;
const N = 37;
const SEED = 3;
const EPOCH = 2;
const SMOOTHING = 0.1;
const AUGMENT: AugmentSettings = { affine: true, elastic: 20, stroke: 0.5, contrast: 0.3, erase: 0.5 };

const data = digitsDataset(N, 5);
const order = Int32Array.from({ length: N }, (_, i) => (i * 7) % N);

/** The gradient of one step over the whole of `order`, computed on this thread alone. */
function oneThread(augment: AugmentSettings, step = STEP): Float32Array[] {
  const net = createNetwork(ARCH, SEED);
  const augmenter = new Augmenter(augment, SEED);
  augmenter.epoch = EPOCH;
  new GradientStep(net, DEFAULT_INPUT, N, SMOOTHING, SEED).run(data, order, 0, N, N, augmenter, step);
  return net.params().map((p) => p.grad.slice());
}

function relativeDiff(a: Float32Array[], b: Float32Array[]): number {
  let scale = 1e-6;
  let worst = 0;
  a.forEach((x, j) => x.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    worst = Math.max(worst, Math.abs(v - b[j][i]));
  }));
  return worst / scale;
}

describe('data-parallel training engine', () => {
  let net: Sequential;
  let pool: DataParallel;
  beforeAll(async () => {
    net = createNetwork(ARCH, SEED);
    pool = await DataParallel.create(2, net, net.specs(), DEFAULT_INPUT, SEED, data, N, N, AUGMENT, SMOOTHING);
  });
  afterAll(async () => pool.close());

  it('2 threads give one thread\'s gradient, augmented, label-smoothed and with dropout, to float rounding', () => {
    pool.order.set(order);
    pool.beginEpoch(EPOCH);
    const augmenter = new Augmenter(AUGMENT, SEED);
    augmenter.epoch = EPOCH;
    const step = new GradientStep(net, DEFAULT_INPUT, Math.ceil(N / 2), SMOOTHING, SEED);
    for (const p of net.params()) p.grad.fill(0);
    const r = pool.step(step, data, 0, N, augmenter, STEP);
    const two = net.params().map((p) => p.grad.slice());
    expect(r.lossSum / N).toBeGreaterThan(0);
    expect(relativeDiff(oneThread(AUGMENT), two)).toBeLessThan(1e-5);
    // The comparison can fail: the same step without augmentation is far from it.
    expect(relativeDiff(oneThread(NO_AUGMENTATION), two)).toBeGreaterThan(1e-2);
    // Nor with other dropout masks (the next step's).
    expect(relativeDiff(oneThread(AUGMENT, STEP + 1), two)).toBeGreaterThan(1e-2);
  });

  it('refuses a main-thread step whose seed is not the workers\' (its masks would not match theirs)', () => {
    const step = new GradientStep(net, DEFAULT_INPUT, Math.ceil(N / 2), SMOOTHING, SEED + 1);
    expect(() => pool.step(step, data, 0, N)).toThrow(/seed 4, the workers 3/);
  });
});
