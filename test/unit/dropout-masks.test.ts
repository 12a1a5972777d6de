/**
 * Dropout's masks are keyed by (seed, step, dataset row, layer) alone (src/layers/dropout.ts,
 * src/layers/batch-context.ts): an image gets the same mask wherever it sits in a batch, and
 * so on whichever thread computes it (test/cli/thread-weights.test.ts trains on 1, 2 and 3).
 */
import { describe, expect, it, afterAll } from 'vitest';
import { BatchContext } from '../../src/layers/batch-context.js';
import { Dropout } from '../../src/layers/dropout.js';
import { dropLimit, dropoutMask, dropoutMaskReference } from '../../src/kernels/dropout-mask.js';
import { mulFloats, mulFloatsReference } from '../../src/kernels/elementwise.js';
import { kernelInfo, setKernelBackend, type Backend } from '../../src/kernels/gemm.js';
import { allocF32 } from '../../src/kernels/memory.js';
import { loadWasmKernels } from '../../src/kernels/wasm.js';
import { Random } from '../../src/random.js';

const PER = 500;

/** The masks (0 or 1/(1 − rate)) a dropout layer at `index` draws for images `rows` at (seed, step). */
function masks(rows: number[], opts: { seed?: number; step?: number; index?: number; rate?: number; start?: number } = {}): Float32Array[] {
  const batch = new BatchContext();
  const start = opts.start ?? 0;
  const order = new Int32Array(start + rows.length);
  order.set(rows, start);
  batch.set(opts.seed ?? 1, opts.step ?? 0, order, start);
  const drop = new Dropout([PER], opts.rate ?? 0.3, batch, opts.index ?? 4);
  const y = drop.forward({ data: new Float32Array(rows.length * PER).fill(1), shape: [rows.length, PER] }, true).data;
  return rows.map((_, i) => y.slice(i * PER, (i + 1) * PER));
}

const same = (a: Float32Array, b: Float32Array) => a.every((v, i) => v === b[i]);

describe('dropout masks', () => {
  it('depend only on (seed, step, row, layer): the same row gets the same mask at any batch position; any other key, another mask', () => {
    const [a, b, c] = masks([7, 12, 30]);
    // Row 12 alone, first in its batch, read at another offset of the order: the same mask.
    expect(same(masks([12], { start: 5 })[0], b)).toBe(true);
    expect(same(masks([30, 99, 7])[2], a)).toBe(true);
    expect(same(masks([30, 12, 7])[0], c)).toBe(true);
    // Rows differ from each other, and each key changes the mask.
    expect(same(a, b)).toBe(false);
    expect(same(masks([7], { seed: 2 })[0], a)).toBe(false);
    expect(same(masks([7], { step: 1 })[0], a)).toBe(false);
    expect(same(masks([7], { index: 5 })[0], a)).toBe(false);
  });

  it('zero `rate` of the values, statistically, scale survivors by 1/(1 − rate), and backward applies the same mask', () => {
    for (const rate of [0.1, 0.3, 0.7]) {
      const rows = Array.from({ length: 200 }, (_, i) => i * 3);
      const all = masks(rows, { rate });
      const zeros = all.reduce((z, m) => z + m.filter((v) => v === 0).length, 0);
      const n = rows.length * PER;
      // Binomial: within 5 standard deviations of rate·n.
      expect(Math.abs(zeros - rate * n)).toBeLessThan(5 * Math.sqrt(n * rate * (1 - rate)));
      for (const m of all) for (const v of m) if (v !== 0) expect(v).toBeCloseTo(1 / (1 - rate), 6);
      // No two images share a mask (a per-batch rather than per-image key would repeat them).
      expect(same(all[0], all[1])).toBe(false);
    }
    const batch = new BatchContext();
    batch.set(1, 3, Int32Array.from([4, 5]), 0);
    const drop = new Dropout([PER], 0.3, batch, 0);
    const x = { data: new Float32Array(2 * PER).fill(2), shape: [2, PER] };
    const y = drop.forward(x, true).data;
    const dx = drop.backward({ data: new Float32Array(2 * PER).fill(1), shape: [2, PER] })!.data;
    for (let i = 0; i < 2 * PER; i++) expect(dx[i] * 2).toBe(y[i]);
    expect(drop.forward(x, false)).toBe(x);
  });
});

/** Element-wise Object.is: NaN equals NaN, +0 and −0 differ. */
function differences(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d += Object.is(a[i], b[i]) ? 0 : 1;
  return d;
}

describe('the mask kernel (src/kernels/dropout-mask.ts)', () => {
  const start = kernelInfo().backend;
  afterAll(() => {
    setKernelBackend(start);
  });
  const backends: Backend[] = ['js', ...(loadWasmKernels('simd') ? ['wasm-simd' as const] : []), ...(loadWasmKernels('relaxed') ? ['wasm-relaxed-simd' as const] : [])];

  it('draws exactly Random.next() < rate: the integer limit is the largest dropped 32-bit draw', () => {
    for (const rate of [1e-9, 0.1, 0.3, 0.5, 2 / 3, 0.9999999]) {
      const limit = dropLimit(rate);
      expect(limit / 2 ** 32 < rate).toBe(true);
      expect((limit + 1) / 2 ** 32 < rate).toBe(false);
    }
  });

  it.each(backends)('%s: masks, outputs and the backward product equal the plain loop bit for bit', (backend) => {
    expect(setKernelBackend(backend)).toBe(true);
    const random = new Random(8);
    for (const rate of [1e-9, 0.3, 0.5, 0.9999]) {
      for (const n of [0, 1, 2, 3, 4, 5, 31, 3136, 3139]) {
        for (const state of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, random.int(2 ** 32)]) {
          const x = allocF32(n + 3);
          for (let i = 0; i < x.length; i++) x[i] = random.normal() * 4;
          x.set([-0, Infinity, NaN, -3].slice(0, Math.min(4, n)), 2);
          const y = allocF32(n + 5).fill(7), m = allocF32(n + 1).fill(7), d = allocF32(n);
          const yRef = new Float32Array(n + 5).fill(7), mRef = new Float32Array(n + 1).fill(7), dRef = new Float32Array(n);
          dropoutMask(x, 2, y, 5, m, 1, n, state, rate);
          dropoutMaskReference(x, 2, yRef, 5, mRef, 1, n, state, rate);
          mulFloats(x, m, d, n);
          mulFloatsReference(x, mRef, dRef, n);
          expect(differences(y, yRef) + differences(m, mRef) + differences(d, dRef), `rate ${rate}, n ${n}, state ${state}`).toBe(0);
        }
      }
    }
  });

  it('refuses rates outside (0, 1) and ranges past the arrays', () => {
    const a = allocF32(8);
    expect(() => dropoutMask(a, 0, a, 0, a, 0, 8, 1, 0)).toThrow(RangeError);
    expect(() => dropoutMask(a, 0, a, 0, a, 0, 8, 1, 1)).toThrow(RangeError);
    expect(() => dropoutMask(a, 1, a, 0, a, 0, 8, 1, 0.5)).toThrow(RangeError);
    expect(() => mulFloats(a, a, allocF32(4), 8)).toThrow(RangeError);
  });
});
