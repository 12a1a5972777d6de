import { describe, expect, it } from 'vitest';
import { Augmenter, NO_AUGMENTATION, randomAffine, warpImage, type Affine, type AugmentSettings } from '../../src/augment/augment.js';
import { Random } from '../../src/random.js';
import { digitPixels } from '../helpers/digits.js';

const digit = (label = 4, seed = 3): Uint8Array => Uint8Array.from(digitPixels(label, new Random(seed)));
const only = (s: Partial<AugmentSettings>): AugmentSettings => ({ ...NO_AUGMENTATION, ...s });
const run = (aug: Augmenter, src: Uint8Array, image = 0): Float32Array => {
  const out = new Float32Array(784);
  aug.apply(src, 0, image, out, 0, 1, 0);
  return out;
};
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('Augmenter', () => {
  it('with nothing on, copies the image exactly', () => {
    const src = digit();
    expect(Array.from(run(new Augmenter(NO_AUGMENTATION, 1), src))).toEqual(Array.from(src));
  });

  it('affine alone gives bit for bit what the original --augment gave', () => {
    const src = digit();
    const aug = new Augmenter(only({ affine: true }), 7);
    const t: Affine = { angle: 0, scale: 1, dx: 0, dy: 0 };
    for (const [epoch, image] of [[1, 0], [3, 5], [9, 123]]) {
      aug.epoch = epoch;
      const expected = new Float32Array(784);
      warpImage(src, 0, randomAffine(7, epoch, image, t), expected, 0, 1 / 255, -0.1);
      const got = new Float32Array(784);
      aug.apply(src, 0, image, got, 0, 1 / 255, -0.1);
      expect(Buffer.from(got.buffer)).toEqual(Buffer.from(expected.buffer));
    }
  });

  it('elastic distortion moves ink by about a pixel or two, smoothly, keeping most of it', () => {
    const src = new Uint8Array(784);
    for (let y = 4; y < 24; y++) src[y * 28 + 14] = 255; // a vertical stroke
    const aug = new Augmenter(only({ elastic: 34 }), 1);
    let moved = 0;
    for (let image = 0; image < 20; image++) {
      const out = run(aug, src, image);
      // Stretching and squeezing change a thin stroke's area a little; nothing vanishes.
      expect(sum(out) / sum(src)).toBeGreaterThan(0.6);
      expect(sum(out) / sum(src)).toBeLessThan(1.5);
      // Where is the stroke on each row now? Its centre of mass moves, but neighbours move together.
      const centres: number[] = [];
      for (let y = 10; y < 18; y++) {
        let m = 0;
        let s = 0;
        for (let x = 0; x < 28; x++) {
          m += out[y * 28 + x] * x;
          s += out[y * 28 + x];
        }
        centres.push(m / s);
      }
      for (let i = 1; i < centres.length; i++) expect(Math.abs(centres[i] - centres[i - 1])).toBeLessThan(1);
      moved = Math.max(moved, ...centres.map((c) => Math.abs(c - 14)));
    }
    expect(moved).toBeGreaterThan(0.5);
    expect(moved).toBeLessThan(5);
  });

  it('stroke width thickens or thins strokes, a single dot into at most a plus', () => {
    const src = new Uint8Array(784);
    src[10 * 28 + 10] = 200;
    const aug = new Augmenter(only({ stroke: 1 }), 2);
    let thicker = 0;
    let thinner = 0;
    for (let image = 0; image < 40; image++) {
      const out = run(aug, src, image);
      const total = sum(out);
      if (total > 200) thicker++;
      if (total < 200) thinner++;
      expect(total).toBeLessThanOrEqual(5 * 200 + 1e-3);
      for (let p = 0; p < 784; p++) {
        const y = Math.floor(p / 28);
        const x = p % 28;
        if (Math.abs(y - 10) + Math.abs(x - 10) > 1) expect(out[p]).toBe(0);
      }
    }
    expect(thicker).toBeGreaterThan(5);
    expect(thinner).toBeGreaterThan(5);
  });

  it('contrast keeps values within 0..255 and background at 0', () => {
    const src = digit();
    const aug = new Augmenter(only({ contrast: 0.5 }), 3);
    const changed = new Set<number>();
    for (let image = 0; image < 20; image++) {
      const out = run(aug, src, image);
      for (let p = 0; p < 784; p++) {
        expect(out[p]).toBeGreaterThanOrEqual(0);
        expect(out[p]).toBeLessThanOrEqual(255);
        if (src[p] === 0) expect(out[p]).toBe(0);
      }
      changed.add(Math.round(sum(out)));
    }
    expect(changed.size).toBeGreaterThan(15);
  });

  it('erasing blanks one rectangle, on about the asked share of images', () => {
    const src = new Uint8Array(784).fill(100);
    const aug = new Augmenter(only({ erase: 0.5 }), 4);
    let erased = 0;
    for (let image = 0; image < 400; image++) {
      const out = run(aug, src, image);
      const zeros: number[] = [];
      out.forEach((v, p) => v === 0 && zeros.push(p));
      if (zeros.length === 0) continue;
      erased++;
      const ys = zeros.map((p) => Math.floor(p / 28));
      const xs = zeros.map((p) => p % 28);
      const h = Math.max(...ys) - Math.min(...ys) + 1;
      const w = Math.max(...xs) - Math.min(...xs) + 1;
      expect(zeros.length).toBe(h * w); // a solid rectangle
      expect(zeros.length).toBeGreaterThanOrEqual(Math.floor(0.02 * 784 * 0.5));
      expect(zeros.length).toBeLessThanOrEqual(Math.ceil(0.15 * 784 * 1.6));
    }
    expect(erased).toBeGreaterThan(160);
    expect(erased).toBeLessThan(240);
  });

  it('is reproducible from (seed, epoch, image) and new for each', () => {
    const src = digit();
    const all = only({ affine: true, elastic: 20, stroke: 0.5, contrast: 0.3, erase: 0.5 });
    const a = new Augmenter(all, 5);
    const b = new Augmenter(all, 5);
    a.epoch = b.epoch = 2;
    run(a, src, 8); // a different image in between must not disturb the next draw
    expect(Array.from(run(a, src, 3))).toEqual(Array.from(run(b, src, 3)));
    const first = Array.from(run(a, src, 3));
    expect(Array.from(run(a, src, 4))).not.toEqual(first);
    a.epoch = 3;
    expect(Array.from(run(a, src, 3))).not.toEqual(first);
    expect(Array.from(run(new Augmenter(all, 6), src, 3))).not.toEqual(first);
  });
});
