/**
 * Winograd convolution: the matrices, every wasm transform against its reference loop
 * (values, and nothing written outside its block), the layer against the naive loops and
 * im2col, gradient checks through the Winograd path, planted bugs the checks must catch,
 * KCONV_CONV forcing, the TypeScript fallback and the fused epilogue.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GRAD_TOLERANCE, winogradChecks } from '../../src/check/checks.js';
import { gradCheckLayer } from '../../src/check/gradcheck.js';
import { zeroFloats } from '../../src/kernels/elementwise.js';
import { kernelInfo, setKernelBackend, type Backend } from '../../src/kernels/gemm.js';
import { allocF32 } from '../../src/kernels/memory.js';
import { loadWasmKernels } from '../../src/kernels/wasm.js';
import * as generated from '../../src/kernels/wasm/gen-winograd.mjs';
import {
  copyPlanes, copyPlanesReference, F2X2_3X3, F4X4_3X3, pickConvAlgorithm, spreadStride, tileGeometry, winogradFilter, winogradFilterAdjoint,
  winogradFilterAdjointReference, winogradFilterReference, winogradGradOutput, winogradGradOutputReference, winogradInput,
  winogradInputAdjoint, winogradInputAdjointReference, winogradInputReference, winogradOutput, winogradOutputReference,
  type TileGeometry, type WinogradAlgorithm,
} from '../../src/kernels/winograd.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Relu } from '../../src/layers/relu.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { rng } from '../helpers/rng.js';

const rand = rng(99);
const fill = (a: Float32Array) => {
  for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
  return a;
};
const algs = [F2X2_3X3, F4X4_3X3];
const startBackend = kernelInfo().backend;
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'wasm-simd', available: loadWasmKernels('simd') !== null },
  { backend: 'wasm-relaxed-simd', available: loadWasmKernels('relaxed') !== null },
];
afterAll(() => {
  setKernelBackend(startBackend);
});

/** max |a − b| over `indices`, relative to max |a|. */
function relErr(want: Float32Array, got: Float32Array, indices: Iterable<number> = want.keys()): number {
  let scale = 1e-30, worst = 0;
  for (const i of indices) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(want[i] - got[i]));
  }
  return worst / scale;
}

describe('Winograd matrices', () => {
  it('spreadStride: the least odd multiple of 16 floats at or above its argument, so 36 positions start in 36 cache sets', () => {
    for (const min of [1, 15, 16, 17, 32, 33, 1024, 64 * 1032, 32 * 208, 12345]) {
      const s = spreadStride(min);
      expect(s).toBeGreaterThanOrEqual(min);
      expect(s % 32).toBe(16);
      expect(s - min).toBeLessThan(32 + 16);
      const sets = new Set(Array.from({ length: 36 }, (_, x) => ((x * s * 4) >> 6) % 64));
      expect(sets.size).toBe(36);
    }
  });

  it('the generator compiles in the same matrices as winograd.ts', () => {
    for (const [mine, gen] of [[F2X2_3X3, generated.F2X2_3X3], [F4X4_3X3, generated.F4X4_3X3]] as const) {
      expect(gen.BT).toEqual(mine.BT);
      expect(gen.G).toEqual(mine.G);
      expect(gen.AT).toEqual(mine.AT);
    }
  });

  it('Aᵀ[(G g) ⊙ (Bᵀ d)] is the 1-D correlation of d with g, exactly (in doubles)', () => {
    for (const { m, alpha, BT, G, AT } of algs) {
      for (let t = 0; t < 20; t++) {
        const d = Array.from({ length: alpha }, () => rand() - 0.5), g = [rand(), rand(), rand()];
        const u = G.map((row) => row[0] * g[0] + row[1] * g[1] + row[2] * g[2]);
        const v = BT.map((row) => row.reduce((s, c, k) => s + c * d[k], 0));
        const y = AT.map((row) => row.reduce((s, c, k) => s + c * u[k] * v[k], 0));
        for (let i = 0; i < m; i++) expect(y[i]).toBeCloseTo(g[0] * d[i] + g[1] * d[i + 1] + g[2] * d[i + 2], 12);
      }
    }
  });
});

/** Geometries with partial tile groups and edge tiles: [OH, OW]. */
const sizes: [number, number][] = [[1, 1], [2, 3], [3, 7], [5, 5], [8, 8], [9, 13], [14, 14], [17, 6], [16, 20], [28, 28]];

/** Indices of a [ξ][channel][t] block one image wide that the transforms define (the spare lanes excluded). */
function blockIndices(geo: TileGeometry, channels: number, off: number, ld: number, xs: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < geo.alpha * geo.alpha; x++) {
    for (let c = 0; c < channels; c++) for (let t = 0; t < geo.tiles; t++) out.push(off + x * xs + c * ld + t);
  }
  return out;
}

/** The end of what a wasm transform may write in such a block (its spare lanes included). */
function blockEnd(geo: TileGeometry, channels: number, off: number, ld: number, xs = channels * ld): number {
  return off + (geo.alpha * geo.alpha - 1) * xs + (channels - 1) * ld + (geo.th - 1) * geo.tw + geo.groupTw;
}

for (const { backend, available } of backends) {
  describe.skipIf(!available)(`Winograd transforms: ${backend} against the reference loops`, () => {
    const use = () => expect(setKernelBackend(backend)).toBe(true);

    it('filter transform and its adjoint (any filter count, not only multiples of 4)', () => {
      use();
      for (const alg of algs) {
        for (const count of [1, 3, 4, 7, 64, 1025]) {
          const a2 = alg.alpha ** 2, uStride = Math.ceil(count / 4) * 4 + 4;
          const w = fill(allocF32(9 * count)), u = fill(allocF32(a2 * uStride)), want = Float32Array.from(u);
          winogradFilter(alg, w, count, u, uStride);
          winogradFilterReference(alg, w, count, want, uStride);
          const defined = [...Array(a2 * uStride).keys()].filter((i) => i % uStride < count);
          expect(relErr(want, u, defined)).toBeLessThan(1e-6);
          // nothing written past the padded stride of each position
          for (let x = 0; x < a2; x++) for (let i = Math.ceil(count / 4) * 4; i < uStride; i++) expect(u[x * uStride + i]).toBe(want[x * uStride + i]);
          const du = fill(allocF32(a2 * uStride)), dw = fill(allocF32(9 * count + 5)), dwWant = Float32Array.from(dw);
          winogradFilterAdjoint(alg, du, uStride, count, dw);
          winogradFilterAdjointReference(alg, du, uStride, count, dwWant);
          expect(relErr(dwWant, dw)).toBeLessThan(1e-6); // including the 5 floats after the last filter, untouched
        }
      }
    });

    it('input transform and its adjoint, output and gradient-output transforms, on edge-heavy geometries', () => {
      use();
      for (const alg of algs) {
        for (const [OH, OW] of sizes) {
          const geo = tileGeometry(alg, OH, OW);
          const channels = 1 + Math.floor(rand() * 5);
          const ld = geo.tiles * 2 + 3 + Math.floor(rand() * 8), off = 1 + Math.floor(rand() * 3);
          // between positions: channels·ld, or more (the layer spreads it to an odd number of cache lines)
          const xs = channels * ld + (rand() < 0.3 ? 0 : Math.floor(rand() * 40));
          const blockSize = off + alg.alpha ** 2 * xs + 4;
          const inside = blockIndices(geo, channels, off, ld, xs);

          // V = Bᵀ d B from padded planes (at an offset)
          const xpOff = 3, xp = fill(allocF32(xpOff + channels * geo.inH * geo.inW));
          const v = fill(allocF32(blockSize)), vWant = Float32Array.from(v);
          winogradInput(alg, geo, channels, xp, xpOff, v, off, ld, xs);
          winogradInputReference(alg, geo, channels, xp, xpOff, vWant, off, ld, xs);
          expect(relErr(vWant, v, inside)).toBeLessThan(1e-6);
          const end = blockEnd(geo, channels, off, ld, xs);
          for (let i = 0; i < off; i++) expect(v[i]).toBe(vWant[i]);
          for (let i = end; i < v.length; i++) expect(v[i]).toBe(vWant[i]);

          // y = act(scale·Aᵀ M A + shift), clipped to OH×OW, at an offset in y
          for (const relu of [false, true]) {
            const mm = fill(allocF32(blockSize)), yOff = 2, y = fill(allocF32(yOff + channels * OH * OW + 3)), yWant = Float32Array.from(y);
            const scale = fill(allocF32(channels)), shift = fill(allocF32(channels));
            winogradOutput(alg, geo, channels, mm, off, ld, xs, y, yOff, scale, shift, relu);
            winogradOutputReference(alg, geo, channels, mm, off, ld, xs, yWant, yOff, scale, shift, relu);
            expect(relErr(yWant, y)).toBeLessThan(1e-5);
            expect([y[0], y[1], ...y.subarray(y.length - 3)]).toEqual([yWant[0], yWant[1], ...yWant.subarray(y.length - 3)]);
          }

          // dM = A dY Aᵀ from padded gradient planes
          const dypOff = 1, dyp = fill(allocF32(dypOff + channels * geo.outH * geo.outW));
          const dm = fill(allocF32(blockSize)), dmWant = Float32Array.from(dm);
          winogradGradOutput(alg, geo, channels, dyp, dypOff, dm, off, ld, xs);
          winogradGradOutputReference(alg, geo, channels, dyp, dypOff, dmWant, off, ld, xs);
          expect(relErr(dmWant, dm, inside)).toBeLessThan(1e-6);
          for (let i = end; i < dm.length; i++) expect(dm[i]).toBe(dmWant[i]);

          // dX += B dV Bᵀ, overlapping windows adding up; other tiles' values in the spare lanes ignored
          const dv = fill(allocF32(blockSize)), dxpOff = 2;
          const dxp = fill(allocF32(dxpOff + channels * geo.inH * geo.inW + 2)), dxpWant = Float32Array.from(dxp);
          winogradInputAdjoint(alg, geo, channels, dv, off, ld, xs, dxp, dxpOff);
          winogradInputAdjointReference(alg, geo, channels, dv, off, ld, xs, dxpWant, dxpOff);
          expect(relErr(dxpWant, dxp)).toBeLessThan(1e-5);
        }
      }
    });

    it('copyPlanes pads and crops between strides, masked by a ReLU output or input, or through a ReLU, or plain', () => {
      use();
      const src = fill(allocF32(3 * 7 * 9 + 2)), dst = fill(allocF32(3 * 10 * 13)), want = Float32Array.from(dst);
      copyPlanes(src, 2, 63, 9, dst, 14, 130, 13, 3, 7, 9);
      copyPlanesReference(src, 2, 63, 9, want, 14, 130, 13, 3, 7, 9);
      expect(dst).toEqual(want);
      const mask = fill(allocF32(src.length));
      mask[5] = 0;
      mask[6] = NaN;
      mask[7] = -0;
      copyPlanes(src, 2, 63, 9, dst, 14, 130, 13, 3, 7, 9, mask);
      copyPlanesReference(src, 2, 63, 9, want, 14, 130, 13, 3, 7, 9, mask);
      expect(dst).toEqual(want);
      expect(dst.filter((v) => v === 0).length).toBeGreaterThan(50);
      // a ReLU before the conv: applied in the padding copy, and its backward in the cropping copy (mask laid out like dst)
      src[3] = NaN;
      src[4] = -0;
      copyPlanes(src, 2, 63, 9, dst, 14, 130, 13, 3, 7, 9, null, 'src', true);
      copyPlanesReference(src, 2, 63, 9, want, 14, 130, 13, 3, 7, 9, null, 'src', true);
      expect(dst).toEqual(want);
      expect(Object.is(dst[14 + 1], 0) && Object.is(dst[14 + 2], 0)).toBe(true);
      const dmask = fill(allocF32(dst.length));
      dmask[14] = NaN;
      dmask[15] = -0;
      const back = fill(allocF32(src.length)), backWant = Float32Array.from(back);
      copyPlanes(dst, 14, 130, 13, back, 2, 63, 9, 3, 7, 9, dmask, 'dst');
      copyPlanesReference(dst, 14, 130, 13, backWant, 2, 63, 9, 3, 7, 9, dmask, 'dst');
      expect(back).toEqual(backWant);
      expect(back[2]).toBe(0);
    });

    it('zeroFloats clears exactly its range (and refuses one past the array)', () => {
      use();
      for (const a of [fill(allocF32(100)), fill(new Float32Array(100))]) {
        const want = Float32Array.from(a).fill(0, 7, 90);
        zeroFloats(a, 7, 83);
        expect(a).toEqual(want);
        expect(() => zeroFloats(a, 50, 51)).toThrow(RangeError);
      }
    });

    it('refuses blocks that do not fit their arrays instead of writing past them', () => {
      use();
      const geo = tileGeometry(F4X4_3X3, 8, 8);
      const xp = allocF32(geo.inH * geo.inW), ld = geo.tiles + 3;
      expect(() => winogradInput(F4X4_3X3, geo, 1, xp, 0, allocF32(blockEnd(geo, 1, 0, ld) - 1), 0, ld, ld)).toThrow(RangeError);
      expect(() => winogradInput(F4X4_3X3, geo, 1, xp, 0, allocF32(blockEnd(geo, 1, 0, ld)), 0, ld, ld)).not.toThrow();
      expect(() => winogradInput(F4X4_3X3, geo, 1, xp, 0, allocF32(blockEnd(geo, 1, 0, ld, ld + 16) - 1), 0, ld, ld + 16)).toThrow(RangeError);
      expect(() => winogradInput(F4X4_3X3, geo, 1, xp, 0, allocF32(10000), 0, geo.tiles + 2, ld)).toThrow(RangeError);
      expect(() => winogradInput(F4X4_3X3, geo, 2, xp, 0, allocF32(10000), 0, ld, 2 * ld)).toThrow(RangeError);
      // positions closer than their channels' rows would overlap
      expect(() => winogradInput(F4X4_3X3, geo, 2, allocF32(2 * geo.inH * geo.inW), 0, allocF32(10000), 0, ld, 2 * ld - 1)).toThrow(RangeError);
    });
  });
}

/** Random input, weights and bias; returns the layer and a batch. */
function setup(C: number, H: number, W: number, F: number, padding: number, n: number): { conv: Conv2d; x: Tensor } {
  const conv = new Conv2d([C, H, W], { inChannels: C, outChannels: F, kernel: 3, padding });
  fill(conv.weight);
  fill(conv.bias);
  const x: Tensor = { data: fill(allocF32(n * C * H * W)), shape: [n, C, H, W] };
  return { conv, x };
}

/** A 3×3, padding 1 convolution on `algorithm`, and its twin on im2col with the same weights and bias. */
function withIm2colTwin(C: number, H: number, W: number, F: number, algorithm: 'winograd2' | 'winograd4'): { conv: Conv2d; ref: Conv2d } {
  const { conv } = setup(C, H, W, F, 1, 1);
  const ref = new Conv2d([C, H, W], { inChannels: C, outChannels: F, kernel: 3, padding: 1 });
  ref.algorithm = 'im2col';
  conv.algorithm = algorithm;
  ref.weight.set(conv.weight);
  ref.bias.set(conv.bias);
  return { conv, ref };
}

describe('Conv2d through Winograd', () => {
  afterEach(() => {
    setKernelBackend(startBackend);
  });

  it('forward matches the naive loops and backward matches im2col, for every batch size seen (buffers regrow)', () => {
    for (const algorithm of ['winograd2', 'winograd4'] as const) {
      const { conv, ref } = withIm2colTwin(5, 11, 9, 6, algorithm);
      for (const n of [2, 5, 1, 5, 3]) {
        const x: Tensor = { data: fill(allocF32(n * 5 * 11 * 9)), shape: [n, 5, 11, 9] };
        const y = Float32Array.from(conv.forward(x, true).data);
        expect(relErr(ref.forwardNaive(x).data, y)).toBeLessThan(3e-5);
        const dy: Tensor = { data: fill(allocF32(y.length)), shape: [n, 6, 11, 9] };
        ref.forward(x, true);
        const dx = Float32Array.from(conv.backward(dy)!.data), dW = Float32Array.from(conv.weightGrad), db = Float32Array.from(conv.biasGrad);
        const dxWant = ref.backward(dy)!.data;
        expect(relErr(dxWant, dx)).toBeLessThan(3e-5);
        expect(relErr(ref.weightGrad, dW)).toBeLessThan(3e-5);
        expect(relErr(ref.biasGrad, db)).toBeLessThan(1e-6);
      }
    }
  });

  it('forward and backward work group by group (several groups, the last one ragged) as im2col does at once', () => {
    // 64→64 on 28×28: F(4×4) takes 2 images a group, F(2×2) 1, so 5 images are 3 and 5 groups, the last one ragged.
    for (const algorithm of ['winograd2', 'winograd4'] as const) {
      const { conv, ref } = withIm2colTwin(64, 28, 28, 64, algorithm);
      const n = 5;
      const x: Tensor = { data: fill(allocF32(n * 64 * 784)), shape: [n, 64, 28, 28] };
      const y = Float32Array.from(conv.forward(x, true).data);
      expect(relErr(ref.forward(x, true).data, y)).toBeLessThan(3e-5);
      const dy: Tensor = { data: fill(allocF32(y.length)), shape: [n, 64, 28, 28] };
      const dx = Float32Array.from(conv.backward(dy)!.data), dW = Float32Array.from(conv.weightGrad), db = Float32Array.from(conv.biasGrad);
      expect(relErr(ref.backward(dy)!.data, dx)).toBeLessThan(3e-5);
      expect(relErr(ref.weightGrad, dW)).toBeLessThan(3e-5);
      expect(relErr(ref.biasGrad, db)).toBeLessThan(1e-6);
      // a predicting forward keeps no V (28×28 maps go through a group's buffer): backward after it transforms x again
      conv.forward(x, false);
      expect(relErr(ref.backward(dy)!.data, conv.backward(dy)!.data)).toBeLessThan(3e-5);
      expect(relErr(ref.weightGrad, conv.weightGrad)).toBeLessThan(3e-5);
    }
  });

  it('passes numerical gradient checks, and they catch a 1% wrong weight gradient through it', () => {
    class ScaledGrad extends Conv2d {
      override backward(dy: Tensor): Tensor | null {
        const dx = super.backward(dy);
        for (let i = 0; i < this.weightGrad.length; i++) this.weightGrad[i] *= 1.01;
        return dx;
      }
    }
    for (const algorithm of ['winograd2', 'winograd4'] as const) {
      const good = new Conv2d([4, 6, 7], { inChannels: 4, outChannels: 3, kernel: 3, padding: 1 });
      good.algorithm = algorithm;
      for (const r of gradCheckLayer(good, { step: 0.25 })) expect(r.error).toBeLessThan(GRAD_TOLERANCE / 3);
      const bad = new ScaledGrad([4, 6, 7], { inChannels: 4, outChannels: 3, kernel: 3, padding: 1 });
      bad.algorithm = algorithm;
      const weight = gradCheckLayer(bad, { step: 0.25 }).find((r) => r.of === 'weight')!;
      expect(weight.error).toBeGreaterThan(GRAD_TOLERANCE);
    }
  });

  it('kconv check catches a wrong transform matrix entry, in any of the three matrices', () => {
    const good = winogradChecks();
    expect(good.every((r) => r.pass)).toBe(true);
    const planted = (alg: WinogradAlgorithm, which: 'BT' | 'G' | 'AT', i: number, j: number, value: number): WinogradAlgorithm => {
      const m = alg[which].map((row) => [...row]);
      m[i][j] = value;
      return { ...alg, name: `${alg.name} with ${which}[${i}][${j}] = ${value}`, [which]: m };
    };
    const bad = [planted(F4X4_3X3, 'BT', 1, 2, -5), planted(F4X4_3X3, 'AT', 3, 5, 0), planted(F2X2_3X3, 'G', 1, 0, 1 / 4)];
    const rows = winogradChecks(bad);
    expect(rows).toHaveLength(2 * bad.length);
    for (const r of rows) {
      expect(r.pass, r.name).toBe(false);
      expect(r.error).toBeGreaterThan(1e-3);
    }
  });

  it('KCONV_CONV=im2col forces the general path; the rule picks F(4×4) from 4 channels on 3×3 stride-1 shapes', () => {
    const saved = process.env.KCONV_CONV;
    try {
      delete process.env.KCONV_CONV;
      const wasm = kernelInfo().backend !== 'js';
      expect(pickConvAlgorithm(8, 14, 14, 16, 3, 1, 1)).toBe(wasm ? 'winograd4' : 'im2col');
      expect(pickConvAlgorithm(1, 28, 28, 32, 3, 1, 1)).toBe('im2col');
      expect(pickConvAlgorithm(8, 14, 14, 16, 3, 2, 1)).toBe('im2col');
      expect(pickConvAlgorithm(8, 14, 14, 16, 5, 1, 2)).toBe('im2col');
      expect(new Conv2d([8, 6, 6], { inChannels: 8, outChannels: 4, kernel: 3, padding: 1 }).algorithm).toBe(wasm ? 'winograd4' : 'im2col');
      process.env.KCONV_CONV = 'im2col';
      expect(new Conv2d([8, 6, 6], { inChannels: 8, outChannels: 4, kernel: 3, padding: 1 }).algorithm).toBe('im2col');
      process.env.KCONV_CONV = 'winograd2';
      expect(new Conv2d([1, 6, 6], { inChannels: 1, outChannels: 4, kernel: 3, padding: 1 }).algorithm).toBe('winograd2');
      expect(new Conv2d([8, 6, 6], { inChannels: 8, outChannels: 4, kernel: 3, stride: 2 }).algorithm).toBe('im2col');
    } finally {
      if (saved === undefined) delete process.env.KCONV_CONV;
      else process.env.KCONV_CONV = saved;
    }
    const conv = new Conv2d([8, 6, 6], { inChannels: 8, outChannels: 4, kernel: 5, padding: 2 });
    expect(() => (conv.algorithm = 'winograd4')).toThrow(RangeError);
  });

  it('the TypeScript kernels (KCONV_KERNELS=js) run the same Winograd path correctly', () => {
    setKernelBackend('js');
    expect(pickConvAlgorithm(8, 14, 14, 16, 3, 1, 1)).toBe('im2col');
    for (const algorithm of ['winograd2', 'winograd4'] as const) {
      const { conv, x } = setup(6, 9, 10, 5, 2, 2);
      conv.algorithm = algorithm;
      expect(relErr(conv.forwardNaive(x).data, conv.forward(x, true).data)).toBeLessThan(1e-5);
      const ref = new Conv2d([6, 9, 10], { inChannels: 6, outChannels: 5, kernel: 3, padding: 2 });
      ref.algorithm = 'im2col';
      ref.weight.set(conv.weight);
      const dy: Tensor = { data: fill(allocF32(2 * 5 * 11 * 12)), shape: [2, 5, 11, 12] };
      ref.forward(x, true);
      expect(relErr(ref.backward(dy)!.data, conv.backward(dy)!.data)).toBeLessThan(1e-5);
      expect(relErr(ref.weightGrad, conv.weightGrad)).toBeLessThan(1e-5);
    }
  });
});

describe('the fused epilogue (scale, shift, ReLU after the convolution; ReLU also in training)', () => {
  for (const algorithm of ['im2col', 'winograd4'] as const) {
    it(`${algorithm}: out = act(scale ⊙ (conv + bias) + shift)`, () => {
      const { conv, x } = setup(4, 7, 8, 5, 1, 3);
      conv.algorithm = algorithm;
      const plain = conv.forwardNaive(x).data;
      const scale = fill(allocF32(5)), shift = fill(allocF32(5));
      for (const relu of [false, true]) {
        conv.setEpilogue({ scale, shift, relu });
        const y = conv.forward(x, false).data;
        const want = plain.map((v, i) => {
          const f = Math.floor(i / 56) % 5, z = scale[f] * v + shift[f];
          return relu ? Math.max(0, z) : z;
        });
        expect(relErr(want, y)).toBeLessThan(3e-5);
      }
      expect(() => conv.backward({ data: allocF32(3 * 5 * 56), shape: [3, 5, 7, 8] })).toThrow(/batchnorm/);
      // ReLU alone also trains: the layer masks the gradient itself, as conv → relu would.
      conv.setEpilogue({ relu: true });
      const y = Float32Array.from(conv.forward(x, true).data);
      expect(relErr(plain.map((v) => Math.max(0, v)), y)).toBeLessThan(3e-5);
      const dy: Tensor = { data: fill(allocF32(y.length)), shape: [3, 5, 7, 8] };
      const dx = Float32Array.from(conv.backward(dy)!.data), dW = Float32Array.from(conv.weightGrad), db = Float32Array.from(conv.biasGrad);
      const ref = new Conv2d([4, 7, 8], { inChannels: 4, outChannels: 5, kernel: 3, padding: 1 });
      ref.algorithm = algorithm;
      ref.weight.set(conv.weight);
      ref.bias.set(conv.bias);
      const relu = new Relu([5, 7, 8]);
      relu.forward(ref.forward(x, true), true);
      const dxRef = ref.backward(relu.backward(dy)!)!.data;
      expect(relErr(dxRef, dx)).toBeLessThan(3e-5);
      expect(relErr(ref.weightGrad, dW)).toBeLessThan(3e-5);
      expect(relErr(ref.biasGrad, db)).toBeLessThan(3e-5);
      conv.setEpilogue(null);
      expect(relErr(plain, conv.forward(x, true).data)).toBeLessThan(3e-5);
      expect(() => conv.setEpilogue({ scale: allocF32(4) })).toThrow(RangeError);
    });
  }
});
