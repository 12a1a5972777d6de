/**
 * The GEMM and im2col kernels: the blocked TypeScript kernel and every wasm backend
 * against the references, on arena and ordinary arrays. KCONV_KERNELS, read at start-up,
 * is checked in processes of its own in test/cli/kernels.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gemm, gemmBlocked, gemmReference, kernelInfo, setKernelBackend, type Backend } from '../../src/kernels/gemm.js';
import { col2im, col2imReference, im2col, im2colReference, patchGeometry, type PatchGeometry } from '../../src/kernels/im2col.js';
import { allocF32, arenaAddress, arenaStats } from '../../src/kernels/memory.js';
import { loadWasmKernels } from '../../src/kernels/wasm.js';
import { rng } from '../helpers/rng.js';

const rand = rng(12345);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

function fillRandom(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
  return a;
}

type Gemm = typeof gemmReference;

interface Case {
  transA: boolean; transB: boolean; M: number; N: number; K: number;
  aOff: number; lda: number; bOff: number; ldb: number; cOff: number; ldc: number; accumulate: boolean;
}

function randomCase(): Case {
  const transA = rand() < 0.5, transB = rand() < 0.5;
  // Sizes around the tile sizes (3, 4, 8, 12) and the slice depths (256, 1024).
  const pick = (xs: number[]) => xs[int(0, xs.length - 1)]!;
  // Sizes around the row-block sizes too (128 in TypeScript, 258 in wasm), now and then.
  const M = rand() < 0.5 ? int(1, 40) : pick([1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 25, 129, 259, 300]);
  const N = rand() < 0.5 ? int(1, 60) : pick([1, 3, 4, 5, 8, 11, 12, 13, 24, 25, 49]);
  const K = M > 100 ? int(0, 300) : rand() < 0.6 ? int(0, 70) : pick([0, 1, 255, 256, 257, 300, 1023, 1025, 1500]);
  return {
    transA, transB, M, N, K,
    aOff: int(0, 5), lda: (transA ? M : K) + (rand() < 0.5 ? 0 : int(1, 4)),
    bOff: int(0, 5), ldb: (transB ? K : N) + (rand() < 0.5 ? 0 : int(1, 4)),
    cOff: int(0, 5), ldc: N + (rand() < 0.5 ? 0 : int(1, 4)),
    accumulate: rand() < 0.5,
  };
}

/**
 * Runs `kernel` and the reference on the same random operands (from `alloc`) and checks
 * every element of C, including the gaps between rows that must stay untouched, to
 * 1e-5 of its magnitude Σ|a||b| (+ |C| when accumulating).
 */
function checkGemm(kernel: Gemm, c: Case, alloc: (n: number) => Float32Array): void {
  const { transA, transB, M, N, K, aOff, lda, bOff, ldb, cOff, ldc, accumulate } = c;
  const A = fillRandom(alloc(aOff + (transA ? K : M) * lda + 3));
  const B = fillRandom(alloc(bOff + (transB ? N : K) * ldb + 3));
  const C = fillRandom(alloc(cOff + M * ldc + 3));
  const want = Float32Array.from(C);
  gemmReference(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, want, cOff, ldc, accumulate);
  kernel(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
  const isC = (idx: number) => idx >= cOff && (idx - cOff) % ldc < N && idx < cOff + M * ldc;
  let wrong: string | null = null;
  for (let idx = 0; idx < C.length && wrong === null; idx++) {
    let tol = 0;
    if (isC(idx)) {
      const i = Math.floor((idx - cOff) / ldc), j = (idx - cOff) % ldc;
      let mag = accumulate ? Math.abs(want[idx]!) : 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? A[aOff + p * lda + i]! : A[aOff + i * lda + p]!;
        const b = transB ? B[bOff + j * ldb + p]! : B[bOff + p * ldb + j]!;
        mag += Math.abs(a * b);
      }
      tol = 1e-5 * mag + 1e-30;
    }
    const err = Math.abs(C[idx]! - want[idx]!);
    if (!(err <= tol)) wrong = `C[${idx}] = ${C[idx]}, want ${want[idx]} (err ${err}, tol ${tol}) in ${JSON.stringify(c)}`;
  }
  expect(wrong).toBeNull();
}

/** The shapes that dominate training (conv forward, weight and input gradients; dense). */
const trainingShapes: [boolean, boolean, number, number, number][] = [
  [false, false, 8, 36864, 25], [false, true, 8, 25, 36864], [true, false, 25, 36864, 8],
  [false, false, 16, 4096, 200], [false, true, 16, 200, 4096], [true, false, 200, 4096, 16],
  [false, true, 64, 10, 256], [true, false, 10, 256, 64], [false, false, 64, 256, 10],
  [false, true, 64, 10, 288], [true, false, 10, 288, 64], [false, false, 64, 288, 10],
];

function trainingCase([transA, transB, M, N, K]: (typeof trainingShapes)[number], accumulate: boolean): Case {
  return { transA, transB, M, N, K, aOff: 0, lda: transA ? M : K, bOff: 0, ldb: transB ? K : N, cOff: 0, ldc: N, accumulate };
}

const plain = (n: number) => new Float32Array(n);
const wasmAvailable = loadWasmKernels('simd') !== null;
const relaxedAvailable = loadWasmKernels('relaxed') !== null;
const startBackend = kernelInfo().backend;

afterAll(() => {
  setKernelBackend(startBackend);
});

describe('gemm: blocked TypeScript kernel', () => {
  it('matches the reference on random shapes, transposes, offsets and leading dims', () => {
    for (let t = 0; t < 400; t++) checkGemm(gemmBlocked, randomCase(), plain);
  });
  it('matches the reference on the training shapes', () => {
    for (const s of trainingShapes) checkGemm(gemmBlocked, trainingCase(s, s[3] % 2 === 0), plain);
  });
  it('K = 0 clears C, or leaves it when accumulating', () => {
    const C = Float32Array.from([1, 2, 3, 4, 5, 6]);
    gemmBlocked(false, false, 2, 2, 0, plain(0), 0, 0, plain(0), 0, 2, C, 1, 3, false);
    expect(Array.from(C)).toEqual([1, 0, 0, 4, 0, 0]);
    const D = Float32Array.from([1, 2, 3]);
    gemmBlocked(true, true, 1, 3, 0, plain(0), 0, 1, plain(0), 0, 0, D, 0, 3, true);
    expect(Array.from(D)).toEqual([1, 2, 3]);
  });
  it('is what gemm() runs on ordinary arrays, whatever the backend', () => {
    for (let t = 0; t < 50; t++) checkGemm(gemm, randomCase(), plain);
  });
});

describe('wasm kernels are built and found', () => {
  // Both variants load on Node 20 and later, so the backend tests that skip without
  // their kernels never skip here: this fails instead.
  it('loads kernels-simd.wasm and kernels-relaxed.wasm (run `npm run build` first)', () => {
    expect(wasmAvailable).toBe(true);
    expect(relaxedAvailable).toBe(true);
    if (process.env.KCONV_KERNELS !== 'js') expect(kernelInfo().backend).toMatch(/^wasm-/);
  });
});

const wasmBackends: { backend: Backend; available: boolean }[] = [
  { backend: 'wasm-simd', available: wasmAvailable },
  { backend: 'wasm-relaxed-simd', available: relaxedAvailable },
];

for (const { backend, available } of wasmBackends) {
  describe.skipIf(!available)(`gemm: ${backend} on arena arrays`, () => {
    const arena = (n: number) => {
      const a = allocF32(n);
      expect(arenaAddress(a)).toBeGreaterThanOrEqual(0);
      return a;
    };
    const viaBackend: Gemm = (...args) => {
      expect(setKernelBackend(backend)).toBe(true);
      gemm(...args);
    };
    it('matches the reference on random shapes, transposes, offsets and leading dims', () => {
      for (let t = 0; t < 400; t++) checkGemm(viaBackend, randomCase(), arena);
    });
    it('matches the reference on the training shapes', () => {
      for (const s of trainingShapes) checkGemm(viaBackend, trainingCase(s, s[2] % 2 === 0), arena);
    });
    it('really runs the wasm kernel on arena arrays (bit-identical to a direct call)', () => {
      const kernels = loadWasmKernels(backend === 'wasm-simd' ? 'simd' : 'relaxed')!;
      const M = 13, N = 29, K = 300;
      const A = fillRandom(arena(M * K)), B = fillRandom(arena(K * N));
      const viaGemm = arena(M * N), direct = arena(M * N), ts = arena(M * N);
      viaBackend(false, false, M, N, K, A, 0, K, B, 0, N, viaGemm, 0, N, false);
      kernels.gemm(0, 0, M, N, K, arenaAddress(A), K, arenaAddress(B), N, arenaAddress(direct), N, 0, kernels.scratch);
      gemmBlocked(false, false, M, N, K, A, 0, K, B, 0, N, ts, 0, N, false);
      expect(viaGemm).toEqual(direct);
      expect(viaGemm).not.toEqual(ts); // the TypeScript kernel sums in doubles: different low bits
    });
    it('falls back to TypeScript when one operand is an ordinary array', () => {
      for (let t = 0; t < 30; t++) {
        const which = int(0, 2);
        checkGemm(viaBackend, randomCase(), (n) => (int(0, 2) === which ? plain(n) : arena(n)));
      }
    });
    it('refuses operands that do not fit their arrays instead of touching other buffers', () => {
      setKernelBackend(backend);
      const A = arena(6), B = arena(6), C = arena(4);
      expect(() => gemm(false, false, 2, 2, 3, A, 0, 3, B, 1, 2, C, 0, 2, false)).toThrow(RangeError);
      expect(() => gemm(false, false, 2, 2, 3, A, 0, 3, B, 0, 2, C, 1, 2, false)).toThrow(RangeError);
      expect(() => gemm(false, false, 2, 2, 3, A, 0, 3, B, 0, 2, C, 0, 2, false)).not.toThrow();
    });
  });
}

describe('im2col / col2im', () => {
  const grid: PatchGeometry[] = [];
  for (const C of [1, 3]) for (const H of [1, 5, 8]) for (const W of [1, 6, 7, 12])
    for (const k of [1, 2, 3, 5]) for (const stride of [1, 2, 3]) for (const pad of [0, 1, 2]) {
      const g = patchGeometry(C, H, W, k, stride, pad);
      if (g.outHeight > 0 && g.outWidth > 0) grid.push(g);
    }

  /** Two images sharing one cols matrix (image n at column n·OH·OW), as the conv layer does. */
  function checkPatches(g: PatchGeometry, alloc: (n: number) => Float32Array): void {
    const { channels: C, height: H, width: W, kernel: k, outHeight: OH, outWidth: OW } = g;
    const images = 2, P = OH * OW, ld = images * P + 3, xOff = 2, colOff = 1;
    const x = fillRandom(alloc(xOff + images * C * H * W));
    const cols = fillRandom(alloc(colOff + C * k * k * ld));
    const want = Float32Array.from(cols);
    for (let n = 0; n < images; n++) {
      im2colReference(g, x, xOff + n * C * H * W, want, colOff + n * P, ld);
      im2col(g, x, xOff + n * C * H * W, cols, colOff + n * P, ld);
    }
    expect(cols).toEqual(want);
    const dx = fillRandom(alloc(x.length));
    const dxWant = Float32Array.from(dx);
    for (let n = 0; n < images; n++) {
      col2imReference(g, cols, colOff + n * P, ld, dxWant, xOff + n * C * H * W);
      col2im(g, cols, colOff + n * P, ld, dx, xOff + n * C * H * W);
    }
    // Same additions in the same order per pixel, so the results agree to the bit.
    expect(dx).toEqual(dxWant);
  }

  it(`TypeScript path matches the reference over ${grid.length} geometries`, () => {
    for (const g of grid) checkPatches(g, plain);
  });
  for (const { backend, available } of wasmBackends) {
    it.skipIf(!available)(`${backend} path matches the reference over the same geometries`, () => {
      expect(setKernelBackend(backend)).toBe(true);
      for (const g of grid) checkPatches(g, allocF32);
      checkPatches(patchGeometry(1, 28, 28, 5, 1, 0), allocF32);
      checkPatches(patchGeometry(8, 12, 12, 5, 1, 0), allocF32);
    });
  }
  it.skipIf(!wasmAvailable)('refuses an image that does not fit its array', () => {
    setKernelBackend('wasm-simd');
    const x = allocF32(10), cols = allocF32(100);
    expect(() => im2col(patchGeometry(1, 4, 4, 3, 1, 0), x, 0, cols, 0, 4)).toThrow(RangeError);
  });
});

describe('allocF32', () => {
  it('returns zeroed, independent arrays', () => {
    const arrays = [3, 1, 0, 17, 1000].map((n) => allocF32(n));
    arrays.forEach((a, i) => {
      expect(a.length).toBe([3, 1, 0, 17, 1000][i]);
      expect(a.every((v) => v === 0)).toBe(true);
      a.fill(i + 1);
    });
    arrays.forEach((a, i) => expect(a.every((v) => v === i + 1)).toBe(true));
  });

  it.skipIf(!wasmAvailable)('keeps old arrays valid when the memory grows, and wasm still runs on them', () => {
    setKernelBackend(kernelInfo().backend === 'js' ? 'wasm-simd' : kernelInfo().backend);
    const before = arenaStats().capacityBytes;
    const A = fillRandom(allocF32(37 * 41)), B = fillRandom(allocF32(41 * 29)), C = allocF32(37 * 29);
    const snapshotA = Float32Array.from(A);
    // Force several growths: 6 × 16 MiB beyond whatever is there now.
    const big: Float32Array[] = [];
    for (let i = 0; i < 6; i++) {
      const b = allocF32(4 << 20);
      expect(b.every((v) => v === 0)).toBe(true);
      b[0] = i + 1;
      b[b.length - 1] = -(i + 1);
      big.push(b);
    }
    expect(arenaStats().capacityBytes).toBeGreaterThan(before);
    expect(arenaAddress(A)).toBeGreaterThanOrEqual(0);
    expect(A).toEqual(snapshotA);
    big.forEach((b, i) => expect([b[0], b[b.length - 1]]).toEqual([i + 1, -(i + 1)]));
    const want = new Float32Array(37 * 29);
    gemmReference(false, false, 37, 29, 41, A, 0, 41, B, 0, 29, want, 0, 29, false);
    gemm(false, false, 37, 29, 41, A, 0, 41, B, 0, 29, C, 0, 29, false); // old arrays
    for (let i = 0; i < want.length; i++) expect(Math.abs(C[i]! - want[i]!)).toBeLessThan(1e-4);
    const D = allocF32(37 * 29); // new array, in the newest buffer
    gemm(false, false, 37, 29, 41, A, 0, 41, B, 0, 29, D, 0, 29, false);
    expect(D).toEqual(C);
    checkGemm(gemm, randomCase(), allocF32);
  });
});
