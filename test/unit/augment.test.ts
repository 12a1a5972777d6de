import { describe, expect, it } from 'vitest';
import { AUGMENT_LIMITS, randomAffine, warpImage, type Affine } from '../../src/augment/augment.js';
import { fillBatch } from '../../src/batch/fill.js';
import { Augmenter, NO_AUGMENTATION } from '../../src/augment/augment.js';
import { DEFAULT_INPUT } from '../../src/model/weights-file.js';
import { Random } from '../../src/random.js';
import { digitPixels } from '../helpers/digits.js';

const image = (): Uint8Array => Uint8Array.from(digitPixels(4, new Random(3)));
const warp = (src: Uint8Array, t: Affine) => {
  const out = new Float32Array(784);
  warpImage(src, 0, t, out, 0, 1, 0);
  return out;
};
const at = (img: ArrayLike<number>, y: number, x: number) => img[y * 28 + x];

describe('augmentation', () => {
  it('the identity transform copies the image exactly', () => {
    const src = image();
    expect(Array.from(warp(src, { angle: 0, scale: 1, dx: 0, dy: 0 }))).toEqual(Array.from(src));
  });

  it('a whole-pixel shift moves every pixel and fills the edge with background', () => {
    const src = image();
    const out = warp(src, { angle: 0, scale: 1, dx: 2, dy: -1 });
    for (let y = 0; y < 27; y++) for (let x = 2; x < 28; x++) expect(at(out, y, x)).toBe(at(src, y + 1, x - 2));
    for (let y = 0; y < 28; y++) expect(at(out, y, 0)).toBe(0);
  });

  it('a quarter turn about the centre maps rows onto columns', () => {
    const src = new Uint8Array(784);
    src[5 * 28 + 20] = 255; // row 5, column 20
    const out = warp(src, { angle: Math.PI / 2, scale: 1, dx: 0, dy: 0 });
    // rotating (x, y) = (20, 5) by +90° about 13.5: x' = c − (y − c) = 22, y' = c + (x − c) = 20
    expect(at(out, 20, 22)).toBeCloseTo(255, 3);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(255, 2);
  });

  it('half-pixel shifts interpolate bilinearly', () => {
    const src = new Uint8Array(784);
    src[10 * 28 + 10] = 200;
    const out = warp(src, { angle: 0, scale: 1, dx: 0.5, dy: 0 });
    expect(at(out, 10, 10)).toBeCloseTo(100, 4);
    expect(at(out, 10, 11)).toBeCloseTo(100, 4);
  });

  it('draws transforms within the documented limits, reproducibly, new each epoch', () => {
    const t: Affine = { angle: 0, scale: 1, dx: 0, dy: 0 };
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      randomAffine(1, 3, i, t);
      expect(Math.abs(t.angle)).toBeLessThanOrEqual((AUGMENT_LIMITS.degrees * Math.PI) / 180);
      expect(Math.abs(t.scale - 1)).toBeLessThanOrEqual(AUGMENT_LIMITS.scale);
      expect(Math.abs(t.dx)).toBeLessThanOrEqual(AUGMENT_LIMITS.shift);
      expect(Math.abs(t.dy)).toBeLessThanOrEqual(AUGMENT_LIMITS.shift);
      seen.add(Math.round(t.dx * 4));
    }
    expect(seen.size).toBe(17); // the whole range −2..2 in quarter pixels is used
    const a = { ...randomAffine(1, 3, 7, t) };
    expect(randomAffine(1, 3, 7, t)).toEqual(a);
    expect(randomAffine(1, 4, 7, t)).not.toEqual(a);
    expect(randomAffine(2, 3, 7, t)).not.toEqual(a);
  });

  it('fillBatch with augmentation changes images but keeps their ink', () => {
    const pixels = new Uint8Array(784 * 4);
    for (let i = 0; i < 4; i++) pixels.set(digitPixels(i, new Random(i)), i * 784);
    const data = { n: 4, pixels, labels: Uint8Array.from([0, 1, 2, 3]), ids: null, file: 'x', skipped: { count: 0, lines: [] }, header: 'label' as const };
    const order = Int32Array.from([0, 1, 2, 3]);
    const plain = new Float32Array(784 * 4);
    const augmented = new Float32Array(784 * 4);
    fillBatch(data, order, 0, 4, DEFAULT_INPUT, plain, null);
    const aug = new Augmenter({ ...NO_AUGMENTATION, affine: true }, 1);
    aug.epoch = 1;
    fillBatch(data, order, 0, 4, DEFAULT_INPUT, augmented, null, aug);
    expect(Array.from(augmented)).not.toEqual(Array.from(plain));
    for (let i = 0; i < 4; i++) {
      const sum = (a: Float32Array) => a.subarray(i * 784, (i + 1) * 784).reduce((s, v) => s + v, 0);
      // scale ±10% changes the ink's area by at most ~21%, shifts may push a little off the edge
      expect(sum(augmented) / sum(plain)).toBeGreaterThan(0.7);
      expect(sum(augmented) / sum(plain)).toBeLessThan(1.3);
    }
  });
});
