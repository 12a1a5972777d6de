/**
 * The layer kernels (ReLU, max pooling, batched GEMM, stride-1 im2col runs): every wasm
 * backend against the TypeScript reference on random data, odd sizes and offsets, and
 * the layers built on them under both the wasm and the TypeScript path.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  channelLinear, channelLinearReference, planeDots, planeDotsReference, reluBackward, reluBackwardReference, reluForward, reluForwardReference,
} from '../../src/kernels/elementwise.js';
import { gemmBatched, gemmBatchedLoop, gemmReference, kernelInfo, operand, packedSize, packMatrices, setKernelBackend, type Backend } from '../../src/kernels/gemm.js';
import { col2im, col2imReference, im2col, im2colReference, patchGeometry } from '../../src/kernels/im2col.js';
import { allocF32, allocF64, allocI32, arenaAddress } from '../../src/kernels/memory.js';
import {
  maxPoolBackward, maxPoolBackwardReference, maxPoolForward, maxPoolForwardReference, type PoolShape,
} from '../../src/kernels/pooling.js';
import { loadWasmKernels } from '../../src/kernels/wasm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { Relu } from '../../src/layers/relu.js';
import { expectLikeReference, runStack } from '../helpers/layer-stack.js';
import { rng } from '../helpers/rng.js';

const rand = rng(2024);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Values with many exact ties, both zeros, and now and then a NaN: what selects must get right. */
function fillTricky(a: Float32Array, nan = true): Float32Array {
  for (let i = 0; i < a.length; i++) {
    const r = rand();
    a[i] = nan && r < 0.02 ? NaN : r < 0.1 ? 0 : r < 0.2 ? -0 : int(-4, 4) / 2;
  }
  return a;
}

function fillRandom(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
  return a;
}

/** Element-wise Object.is: NaN equals NaN, +0 and −0 differ. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}[${i}] = ${got[i]}, want ${want[i]}`);
  }
}

const plainF32 = (n: number) => new Float32Array(n);
const plainI32 = (n: number) => new Int32Array(n);
const wasmAvailable = loadWasmKernels('simd') !== null;
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'js', available: true },
  { backend: 'wasm-simd', available: wasmAvailable },
  { backend: 'wasm-relaxed-simd', available: loadWasmKernels('relaxed') !== null },
];
const startBackend = kernelInfo().backend;
afterAll(() => {
  setKernelBackend(startBackend);
});

/** An arena array (when there is an arena) starting `skew` floats past an aligned start. */
function arenaF32(n: number, skew = 0): Float32Array {
  return allocF32(n + skew).subarray(skew);
}

const poolGrid: PoolShape[] = [];
for (const [k, stride] of [[2, 2], [1, 1], [2, 1], [3, 1], [3, 2], [3, 3], [2, 3]]) {
  for (const H of [2, 3, 4, 5, 7, 8]) {
    for (const W of [2, 3, 4, 7, 8, 9, 10, 11, 12, 17, 24]) {
      if (k > H || k > W) continue;
      const OH = Math.floor((H - k) / stride) + 1, OW = Math.floor((W - k) / stride) + 1;
      poolGrid.push({ planes: 1 + ((H + W) % 3), H, W, k, stride, OH, OW });
    }
  }
}
// the training shapes
poolGrid.push({ planes: 64 * 8, H: 24, W: 24, k: 2, stride: 2, OH: 12, OW: 12 });
poolGrid.push({ planes: 64 * 16, H: 8, W: 8, k: 2, stride: 2, OH: 4, OW: 4 });
// the wide net's: rows of 14 and 7 windows end in 2 and 3 that the 2×2 kernel redoes with an overlapping vector
poolGrid.push({ planes: 3 * 32, H: 28, W: 28, k: 2, stride: 2, OH: 14, OW: 14 });
poolGrid.push({ planes: 3 * 64, H: 14, W: 15, k: 2, stride: 2, OH: 7, OW: 7 });

for (const { backend, available } of backends) {
  describe.skipIf(!available)(`layer kernels: ${backend}`, () => {
    const arena = backend !== 'js';
    const f32 = (n: number, skew = 0) => (arena ? arenaF32(n, skew) : plainF32(n));
    const i32 = (n: number) => (arena ? allocI32(n) : plainI32(n));
    const use = () => expect(setKernelBackend(backend)).toBe(true);

    it('relu forward and backward match the reference bit for bit (NaN, ±0, odd lengths, offsets)', () => {
      use();
      for (let t = 0; t < 200; t++) {
        const n = t < 40 ? t : int(0, 300);
        const extra = int(0, 5); // elements past n must stay untouched
        const x = fillTricky(f32(n + extra, int(0, 3))), g = fillTricky(f32(n + extra, int(0, 3)));
        const y = fillRandom(f32(n + extra, int(0, 3))), dx = fillRandom(f32(n + extra, int(0, 3)));
        const yWant = Float32Array.from(y), dxWant = Float32Array.from(dx);
        reluForward(x, y, n);
        reluForwardReference(x, yWant, n);
        expectSame(y, yWant, 'y');
        reluBackward(x, g, dx, n);
        reluBackwardReference(x, g, dxWant, n);
        expectSame(dx, dxWant, 'dx');
      }
    });

    it('relu forward works in place', () => {
      use();
      const x = fillTricky(f32(37, 1));
      const want = Float32Array.from(x);
      reluForwardReference(want, want, want.length);
      reluForward(x, x, x.length);
      expectSame(x, want, 'x');
    });

    it('relu refuses a length its arrays cannot hold', () => {
      use();
      expect(() => reluForward(f32(8), f32(7), 8)).toThrow(RangeError);
      expect(() => reluBackward(f32(8), f32(8), f32(8), 9)).toThrow(RangeError);
    });

    it('batch normalization\'s channel maps match the reference bit for bit (odd planes, channels, lengths)', () => {
      use();
      for (let t = 0; t < 120; t++) {
        const F = int(1, 6), planes = F * int(1, 4), P = t < 20 ? t + 1 : int(1, 60);
        const n = planes * P;
        const g = fillTricky(f32(n, int(0, 3)), false), x = fillRandom(f32(n, int(0, 3)));
        const [p, q, r] = [fillRandom(f32(F)), fillRandom(f32(F)), fillRandom(f32(F))];
        const d = fillRandom(f32(n + 3, int(0, 3))), want = Float32Array.from(d);
        channelLinear(g, x, d, planes, F, P, p, q, r);
        channelLinearReference(g, x, want, planes, F, P, p, q, r);
        expectSame(d, want, 'd');
      }
      expect(() => channelLinear(f32(8), f32(8), f32(7), 2, 1, 4, f32(1), f32(1), f32(1))).toThrow(RangeError);
    });

    it('batch normalization\'s plane sums (Σa, Σa·b in float64) match the reference, far from zero too', () => {
      use();
      const f64 = (n: number) => (arena ? allocF64(n) : new Float64Array(n));
      for (let t = 0; t < 80; t++) {
        const planes = int(1, 12), P = t < 20 ? t + 1 : int(1, 900), offA = int(0, 3), offB = int(0, 3);
        const a = fillRandom(f32(offA + planes * P)), b = fillRandom(f32(offB + planes * P));
        if (t % 2) for (let i = 0; i < a.length; i++) a[i] += 1000; // a mean far from zero
        const out = f64(2 * planes + 1).fill(7), want = new Float64Array(2 * planes + 1).fill(7);
        planeDots(a, offA, b, offB, planes, P, out);
        planeDotsReference(a, offA, b, offB, planes, P, want);
        for (let k = 0; k < want.length; k++) expect(Math.abs(out[k] - want[k])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[k])) * P);
        expect(out[2 * planes]).toBe(7); // past the planes: untouched
      }
      expect(() => planeDots(f32(8), 0, f32(8), 1, 2, 4, f64(4))).toThrow(RangeError);
    });

    it(`max pooling forward: same maxima and argmax (first maximum on ties) over ${poolGrid.length} shapes`, () => {
      use();
      for (const s of poolGrid) {
        const nOut = s.planes * s.OH * s.OW;
        const x = fillTricky(f32(s.planes * s.H * s.W, int(0, 3)));
        const y = f32(nOut, int(0, 3)), am = i32(nOut);
        const yWant = new Float32Array(nOut), amWant = new Int32Array(nOut);
        maxPoolForward(s, x, y, am);
        maxPoolForwardReference(s, x, yWant, amWant);
        expectSame(y, yWant, `y ${JSON.stringify(s)}`);
        expectSame(am, amWant, `argmax ${JSON.stringify(s)}`);
      }
    });

    it('max pooling backward: dy lands on the argmax, the rest is 0, overlapping windows add up', () => {
      use();
      for (const s of poolGrid) {
        const nIn = s.planes * s.H * s.W, nOut = s.planes * s.OH * s.OW;
        const x = fillTricky(f32(nIn), false);
        const y = f32(nOut), am = i32(nOut);
        maxPoolForward(s, x, y, am);
        const g = fillTricky(f32(nOut, int(0, 3)), false);
        const dx = fillRandom(f32(nIn, int(0, 3))); // stale values must all be overwritten
        const dxWant = new Float32Array(nIn);
        maxPoolBackward(s, g, am, dx);
        maxPoolBackwardReference(s, g, am, dxWant);
        expectSame(dx, dxWant, `dx ${JSON.stringify(s)}`);
      }
    });

    it('max pooling ties and NaN, worked by hand', () => {
      use();
      // Two 2×2 windows side by side in a 2×4 plane, then a 3×3 window (stride 1) on the same plane.
      const x = f32(8);
      x.set([1, 1, 0, 2, 1, 1, 2, 2]);
      const y = f32(2), am = i32(2);
      maxPoolForward({ planes: 1, H: 2, W: 4, k: 2, stride: 2, OH: 1, OW: 2 }, x, y, am);
      expect(Array.from(y)).toEqual([1, 2]);
      expect(Array.from(am)).toEqual([0, 3]); // all ones → the first; 2s at 3, 6, 7 → 3
      x.set([NaN, 5, 0, 1, 5, 5, 2, 2]);
      maxPoolForward({ planes: 1, H: 2, W: 4, k: 2, stride: 2, OH: 1, OW: 2 }, x, y, am);
      expect(Number.isNaN(y[0])).toBe(true); // a NaN first element is never beaten
      expect(Array.from(am)).toEqual([0, 6]);
      x.set([-0, 0, 0, 1, 0, -0, 2, 2]);
      maxPoolForward({ planes: 1, H: 2, W: 4, k: 2, stride: 2, OH: 1, OW: 2 }, x, y, am);
      expect(Object.is(y[0], -0)).toBe(true); // +0 is not greater than −0
      expect(am[0]).toBe(0);
      const dx = fillRandom(f32(8)), g = f32(2);
      g.set([-0, 3]);
      maxPoolBackward({ planes: 1, H: 2, W: 4, k: 2, stride: 2, OH: 1, OW: 2 }, g, am, dx);
      expectSame(dx, [0, 0, 0, 0, 0, 0, 3, 0], 'dx'); // 0 + (−0) = +0, as the reference gives
    });

    it('max pooling refuses shapes its arrays cannot hold', () => {
      use();
      const s: PoolShape = { planes: 2, H: 4, W: 4, k: 2, stride: 2, OH: 2, OW: 2 };
      expect(() => maxPoolForward(s, f32(31), f32(8), i32(8))).toThrow(RangeError);
      expect(() => maxPoolForward(s, f32(32), f32(8), i32(7))).toThrow(RangeError);
      expect(() => maxPoolForward({ ...s, OH: 3 }, f32(32), f32(12), i32(12))).toThrow(RangeError);
      expect(() => maxPoolBackward(s, f32(8), i32(8), f32(30))).toThrow(RangeError);
    });

    it('gemmBatched matches a loop of reference products (shared operands, sums, empty batches)', () => {
      use();
      for (let t = 0; t < 300; t++) {
        const transA = rand() < 0.5, transB = rand() < 0.5;
        const M = rand() < 0.8 ? int(1, 24) : int(250, 270);
        const N = int(1, 40), batch = int(0, 5);
        const K = rand() < 0.1 ? 0 : rand() < 0.8 ? int(1, 70) : int(500, 1300);
        const lda = (transA ? M : K) + int(0, 2), ldb = (transB ? K : N) + int(0, 2), ldc = N + int(0, 2);
        const sizeA = (transA ? K : M) * lda, sizeB = (transB ? N : K) * ldb, sizeC = M * ldc;
        const sA = rand() < 0.3 ? 0 : sizeA + int(0, 3), sB = rand() < 0.2 ? 0 : sizeB + int(0, 3);
        const sC = rand() < 0.4 ? 0 : sizeC + int(0, 3);
        const aOff = int(0, 3), bOff = int(0, 3), cOff = int(0, 3), accumulate = rand() < 0.5;
        const last = Math.max(batch - 1, 0);
        const A = fillRandom(f32(aOff + last * sA + sizeA + 1)), B = fillRandom(f32(bOff + last * sB + sizeB + 1));
        const C = fillRandom(f32(cOff + last * sC + sizeC + 1));
        const want = Float32Array.from(C);
        const opA = operand(A, aOff, lda, sA, transA), opB = operand(B, bOff, ldb, sB, transB);
        gemmBatchedLoop(gemmReference, M, N, K, opA, opB, operand(want, cOff, ldc, sC), accumulate, batch);
        gemmBatched(M, N, K, opA, opB, operand(C, cOff, ldc, sC), accumulate, batch);
        const tol = 2e-6 * (K * Math.max(batch, 1) + 4);
        for (let i = 0; i < C.length; i++) {
          const err = Math.abs(C[i]! - want[i]!);
          if (!(err <= tol * (1 + Math.abs(want[i]!)))) {
            throw new Error(`C[${i}] = ${C[i]}, want ${want[i]} in ${JSON.stringify({ transA, transB, M, N, K, batch, sA, sB, sC, accumulate })}`);
          }
        }
      }
    });

    it('gemmBatched with A packed once (packMatrices) gives what it gives unpacked', () => {
      use();
      for (let t = 0; t < 60; t++) {
        const transA = rand() < 0.5, M = int(1, 70), N = int(1, 40), K = rand() < 0.7 ? int(1, 70) : int(250, 600), batch = int(1, 4);
        const lda = (transA ? M : K) + int(0, 2), sizeA = (transA ? K : M) * lda;
        const A = fillRandom(f32(batch * sizeA + 2)), B = fillRandom(f32(batch * K * N)), opA = operand(A, 1, lda, sizeA, transA);
        const want = fillRandom(f32(batch * M * N)), got = f32(want.length);
        got.set(want);
        const opB = operand(B, 0, N, K * N);
        gemmBatched(M, N, K, opA, opB, operand(want, 0, N, M * N), false, batch);
        const into = f32(3 + batch * packedSize(M, K)), packed = operand(into, 3, 0);
        const ok = packMatrices(M, K, opA, batch, into, packed);
        expect(ok).toBe(arena);
        if (!ok) {
          expect(packed.packed).toBeUndefined(); // left alone: the caller keeps using A
          continue;
        }
        gemmBatched(M, N, K, packed, opB, operand(got, 0, N, M * N), false, batch);
        expect(got).toEqual(want); // the same sums in the same order
        // shared packed A across a batch of B's (stride 0)
        packed.stride = 0;
        const one = f32(M * N), sum = f32(M * N);
        gemmBatched(M, N, K, packed, opB, operand(one, 0, N, 0), false, batch);
        gemmBatched(M, N, K, { ...opA, stride: 0 }, opB, operand(sum, 0, N, 0), false, batch);
        expect(one).toEqual(sum);
      }
    });

    if (arena) it('a packed A is refused where the wasm kernels cannot run, and checked against its array', () => {
      use();
      const A = fillRandom(f32(8 * 8)), into = f32(packedSize(8, 8)), packed = operand(into, 0, 0);
      expect(packMatrices(8, 8, operand(A, 0, 8), 1, into, packed)).toBe(true);
      expect(() => gemmBatched(8, 8, 8, packed, operand(new Float32Array(64), 0, 8), operand(f32(64), 0, 8), false, 1)).toThrow(/packed A/);
      expect(() => gemmBatched(9, 8, 8, packed, operand(f32(72), 0, 8), operand(f32(72), 0, 8), false, 1)).toThrow(RangeError);
      expect(() => packMatrices(8, 8, operand(A, 0, 8), 2, into, operand(into, 0, 0))).toThrow(RangeError);
    });

    // Only the wasm paths check bounds: the TypeScript path cannot touch other buffers
    // (like gemm() it does not check), so this test exists for arena backends alone.
    if (arena) it('gemmBatched refuses a batch whose last product does not fit', () => {
      use();
      const A = f32(4), B = f32(4 * 3), C = f32(4 * 3);
      const opA = operand(A, 0, 2, 0), opB = operand(B, 0, 2, 4), opC = operand(C, 0, 2, 4);
      expect(() => gemmBatched(2, 2, 2, opA, opB, opC, false, 4)).toThrow(RangeError);
      expect(() => gemmBatched(2, 2, 2, opA, opB, opC, false, 3)).not.toThrow();
      expect(() => gemmBatched(2, 2, 2, opA, opB, operand(C, 0, 2, 4, true), false, 3)).toThrow(RangeError);
    });

    it('im2col / col2im with stride 1 over run lengths 1–40 (the unrolled and the general loops)', () => {
      use();
      for (const W of [4, 5, 8, 9, 12, 16, 20, 24, 28, 32, 33, 36, 40, 44]) {
        for (const [k, pad] of [[1, 0], [3, 0], [3, 1], [5, 0], [5, 2]]) {
          const C = 2, H = 6;
          const g = patchGeometry(C, H, W, k, 1, pad);
          const { outHeight: OH, outWidth: OW } = g;
          if (OH <= 0) continue;
          const P = OH * OW, ld = 2 * P + 1;
          const x = fillRandom(f32(2 * C * H * W + 1)), cols = fillRandom(f32(C * k * k * ld + 1));
          const want = Float32Array.from(cols);
          for (let n = 0; n < 2; n++) {
            im2col(g, x, 1 + n * C * H * W, cols, n * P, ld);
            im2colReference(g, x, 1 + n * C * H * W, want, n * P, ld);
          }
          expectSame(cols, want, `cols W=${W} k=${k} pad=${pad}`);
          const dx = fillRandom(f32(x.length)), dxWant = Float32Array.from(dx);
          for (let n = 0; n < 2; n++) {
            col2im(g, cols, n * P, ld, dx, 1 + n * C * H * W);
            col2imReference(g, cols, n * P, ld, dxWant, 1 + n * C * H * W);
          }
          expectSame(dx, dxWant, `dx W=${W} k=${k} pad=${pad}`);
        }
      }
    });
  });
}

describe.skipIf(!wasmAvailable)('the wasm kernels are really used', () => {
  it('maxPoolBackward traps on an argmax outside dx instead of writing past it', () => {
    setKernelBackend('wasm-simd');
    const s: PoolShape = { planes: 1, H: 3, W: 3, k: 3, stride: 1, OH: 1, OW: 1 };
    const am = allocI32(1);
    am[0] = 9; // one past the plane
    expect(() => maxPoolBackward(s, allocF32(1), am, allocF32(9))).toThrow();
  });

  it('allocI32 hands out zeroed arena memory', () => {
    const a = allocI32(5), b = allocI32(3);
    expect(arenaAddress(a)).toBeGreaterThanOrEqual(0);
    expect(Array.from(a)).toEqual([0, 0, 0, 0, 0]);
    a.fill(7);
    expect(Array.from(b)).toEqual([0, 0, 0]);
  });
});


describe('conv2d → relu → maxpool2d on every path', () => {
  it('forward matches forwardNaive, and wasm agrees with the TypeScript path', () => {
    const results = new Map<string, Float32Array[]>();
    for (const { backend, available } of backends) {
      if (!available) continue;
      setKernelBackend(backend);
      const out = runStack({ Conv2d, Relu, MaxPool2d, allocF32 });
      for (let i = 0; i < out.length; i += 6) {
        const [naive, fast] = [out[i]!, out[i + 1]!];
        for (let j = 0; j < naive.length; j++) expect(Math.abs(naive[j]! - fast[j]!)).toBeLessThan(1e-5);
      }
      results.set(backend, out);
    }
    expectLikeReference(results, results.get('js')!);
  });
});
