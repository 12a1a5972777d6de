import { describe, expect, it } from 'vitest';
import { WeightAverage } from '../../src/optim/ema.js';

describe('WeightAverage (EMA of the weights)', () => {
  it('follows ē ← d·ē + (1 − d)·w with the warm-up decay min(d, (1 + t)/(10 + t))', () => {
    const w = Float32Array.from([0, 10]);
    const ema = new WeightAverage(0.9, [w]);
    const expected = [0, 10];
    for (let t = 0; t < 30; t++) {
      w[0] = t;
      w[1] = 10 - t;
      const d = Math.min(0.9, (1 + t) / (10 + t));
      expect(ema.currentDecay()).toBeCloseTo(d, 12);
      ema.update();
      expected[0] = d * expected[0] + (1 - d) * w[0];
      expected[1] = d * expected[1] + (1 - d) * w[1];
      expect(ema.averages[0][0]).toBeCloseTo(expected[0], 4);
      expect(ema.averages[0][1]).toBeCloseTo(expected[1], 4);
    }
    expect(ema.updates).toBe(30);
  });

  it('a resumed average continues exactly as an uninterrupted one', () => {
    const w = Float32Array.from([1, 2, 3]);
    const a = new WeightAverage(0.99, [w]);
    for (let t = 0; t < 5; t++) {
      w[t % 3] += 1;
      a.update();
    }
    const b = new WeightAverage(0.99, [w], { updates: a.updates, averages: a.averages });
    for (let t = 0; t < 5; t++) {
      w[t % 3] -= 0.5;
      a.update();
      b.update();
    }
    expect(Array.from(b.averages[0])).toEqual(Array.from(a.averages[0]));
  });

  it('lends the averages for a while and puts the live weights back, even on error', async () => {
    const w = Float32Array.from([5, 6]);
    const ema = new WeightAverage(0.5, [w]);
    w.set([7, 8]);
    ema.update(); // d = min(0.5, 1/10) = 0.1 → ē = 0.1·[5,6] + 0.9·[7,8]
    const scratch = [new Float32Array(2)];
    const seen = await ema.withAverages(scratch, () => Array.from(w));
    expect(seen[0]).toBeCloseTo(6.8, 5);
    expect(seen[1]).toBeCloseTo(7.8, 5);
    expect(Array.from(w)).toEqual([7, 8]);
    await expect(ema.withAverages(scratch, () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(Array.from(w)).toEqual([7, 8]);
  });

  it('refuses a decay outside [0, 1) and state of the wrong shape', () => {
    expect(() => new WeightAverage(1, [])).toThrow(/decay/);
    expect(() => new WeightAverage(0.9, [new Float32Array(2)], { updates: 1, averages: [new Float32Array(3)] })).toThrow(/does not match/);
  });
});
