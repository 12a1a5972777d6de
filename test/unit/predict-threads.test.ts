/**
 * How many threads a prediction is worth (src/predict/threads.ts): one per
 * MACS_PER_WORKER_START multiply-adds of work, so small jobs stay on one thread.
 */
import { describe, expect, it } from 'vitest';
import { createNetwork } from '../../src/net/index.js';
import { summarizeArch } from '../../src/model/summary.js';
import { foldBatchNorm } from '../../src/predict/fold-batchnorm.js';
import { MACS_PER_WORKER_START, macsPerImage, predictThreads } from '../../src/predict/threads.js';

describe('predict threads by multiply-adds × images', () => {
  it('counts a net\'s multiply-adds as kconv info does', () => {
    for (const arch of ['seed', 'default', 'wide']) expect(macsPerImage(createNetwork(arch)), arch).toBe(summarizeArch(arch).totals.macs);
    expect(macsPerImage(createNetwork('default'))).toBe(8 * 24 * 24 * 25 + 16 * 8 * 8 * 8 * 25 + 256 * 10);
    // Folded, the bn preset has the wide net's multiply-adds (its bn layers counted one per value are gone).
    expect(macsPerImage(foldBatchNorm(createNetwork('bn')))).toBe(macsPerImage(createNetwork('wide')));
  });

  it('keeps small jobs on one thread and spreads big ones, never past what is available', () => {
    const defaultNet = macsPerImage(createNetwork('default'));
    const wide = macsPerImage(createNetwork('wide'));
    // The default net on Dig-MNIST (10,240) and val.csv: one thread (measured faster than two).
    expect(predictThreads(2, defaultNet, 10_240)).toBe(1);
    expect(predictThreads(2, defaultNet, 1_000)).toBe(1);
    // The wide net on Dig-MNIST: both threads; on val.csv's 1,000 images, one.
    expect(predictThreads(2, wide, 10_240)).toBe(2);
    expect(predictThreads(2, wide, 1_000)).toBe(1);
    // Test-time views multiply the work.
    expect(predictThreads(2, wide, 1_000, 4)).toBe(2);
    // The threshold itself: one thread below 2 × the start-up's worth, two from it, capped by what is available.
    expect(predictThreads(8, 1, 2 * MACS_PER_WORKER_START - 1)).toBe(1);
    expect(predictThreads(8, 1, 2 * MACS_PER_WORKER_START)).toBe(2);
    expect(predictThreads(8, 1, 5 * MACS_PER_WORKER_START)).toBe(5);
    expect(predictThreads(3, 1, 100 * MACS_PER_WORKER_START)).toBe(3);
    expect(predictThreads(1, wide, 1e6)).toBe(1);
    expect(predictThreads(4, wide, 0)).toBe(1);
  });
});
