/**
 * General matrix multiply, the one hot kernel every layer goes through:
 *
 *   C[M×N] = op(A)[M×K] · op(B)[K×N]        (accumulate = false)
 *   C[M×N] += op(A)[M×K] · op(B)[K×N]       (accumulate = true)
 *
 * All matrices are row-major views into flat Float32Arrays, at an offset and with a
 * leading dimension (the distance between rows), so callers can multiply sub-blocks
 * and transposed operands without copying. op(X) is X, or Xᵀ when trans is set:
 * a transposed A is stored as K×M (lda ≥ M), a transposed B as N×K (ldb ≥ K).
 *
 * Conv forward is W·cols, its weight gradient dY·colsᵀ, its input gradient Wᵀ·dY
 * (image by image, through gemmBatched below); dense uses X·Wᵀ, dYᵀ·X and dY·W.
 * Keeping all of them here means speed work happens in one place.
 *
 * Dispatch: when A, B and C all live in the kernel arena (see memory.ts) and a wasm
 * backend is active (see wasm.ts), the WebAssembly kernel runs on them in place;
 * otherwise the blocked TypeScript kernel (gemm-js.ts) does.
 */
import { gemmBlocked } from './gemm-js.js';
import { arenaAddress } from './memory.js';
import { activeWasmKernels } from './wasm.js';

export { gemmBlocked } from './gemm-js.js';
export { kernelInfo, setKernelBackend, type Backend } from './wasm.js';

export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const a = arenaAddress(A), b = arenaAddress(B), c = arenaAddress(C);
    if (a >= 0 && b >= 0 && c >= 0) {
      // In wasm an out-of-range index would silently hit a neighbouring buffer: check.
      checkExtent('A', A, aOff, transA ? K : M, transA ? M : K, lda);
      checkExtent('B', B, bOff, transB ? N : K, transB ? K : N, ldb);
      checkExtent('C', C, cOff, M, N, ldc);
      wasm.gemm(+transA, +transB, M, N, K, a + 4 * aOff, lda, b + 4 * bOff, ldb, c + 4 * cOff, ldc, +accumulate, wasm.scratch);
      return;
    }
  }
  gemmBlocked(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
}

/**
 * One operand of a batched product: matrix n of the batch starts at
 * data[offset + n·stride], its rows `ld` floats apart. `transposed` means the array holds
 * op(X)ᵀ (a transposed A is stored K×M, a transposed B N×K). A stride of 0 shares the
 * matrix across the batch (for C: sums the batch's products into it).
 *
 * Layers build their operands once per batch shape and re-point `offset` (or `data`)
 * between calls, so the training loop allocates nothing.
 */
export interface MatrixOperand {
  data: Float32Array;
  offset: number;
  ld: number;
  stride: number;
  transposed: boolean;
  /** A only: `data` holds panels made by packMatrices (ld and transposed then unused). */
  packed?: boolean;
}

export function operand(data: Float32Array, offset: number, ld: number, stride = 0, transposed = false): MatrixOperand {
  return { data, offset, ld, stride, transposed };
}

/**
 * A batch of products sharing shapes: for n < batch, with X_n matrix n of operand X,
 *
 *   C_n (+)= op(A_n) · op(B_n)                         (C.stride > 0)
 *   C   (+)= Σ_n op(A_n) · op(B_n)                     (C.stride = 0: one sum)
 *
 * op(A) is M×K, op(B) K×N, C M×N. Convolution uses it to work image by image on NCHW
 * data without transposing the batch: forward Y_n = W·cols_n (W shared), the weight
 * gradient dW = Σ_n dY_n·cols_nᵀ, the input gradient dcols_n = Wᵀ·dY_n; Winograd runs
 * its α² element-wise products as one batch. In wasm a shared A is packed once for the
 * batch and a sum of A·Bᵀ products stays in registers, so one call beats `batch` calls
 * to gemm. An empty sum (batch = 0, C.stride = 0) clears C unless accumulating.
 */
export function gemmBatched(
  M: number, N: number, K: number, A: MatrixOperand, B: MatrixOperand, C: MatrixOperand,
  accumulate: boolean, batch: number,
): void {
  if (C.transposed) throw new RangeError('gemmBatched: C cannot be transposed');
  if (!(Number.isInteger(batch) && batch >= 0 && [A.stride, B.stride, C.stride].every((s) => Number.isInteger(s) && s >= 0))) {
    throw new RangeError(`gemmBatched: bad batch ${batch} or strides ${A.stride}, ${B.stride}, ${C.stride}`);
  }
  if (batch === 0 && (C.stride > 0 || accumulate)) return; // no products, nothing to clear
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const a = arenaAddress(A.data), b = arenaAddress(B.data), c = arenaAddress(C.data);
    if (a >= 0 && b >= 0 && c >= 0) {
      // The last matrix of each operand is the furthest one: checking it (and the first) covers all.
      const last = Math.max(batch - 1, 0);
      for (const n of [0, last]) {
        if (A.packed) checkExtent('A', A.data, A.offset + n * A.stride, 1, packedFloats(wasm.panelRows, M, K), 0);
        else checkExtent('A', A.data, A.offset + n * A.stride, A.transposed ? K : M, A.transposed ? M : K, A.ld);
        checkExtent('B', B.data, B.offset + n * B.stride, B.transposed ? N : K, B.transposed ? K : N, B.ld);
        checkExtent('C', C.data, C.offset + n * C.stride, M, N, C.ld);
      }
      wasm.gemmBatched(A.packed ? 2 : +A.transposed, +B.transposed, M, N, K, a + 4 * A.offset, A.ld, A.stride, b + 4 * B.offset, B.ld, B.stride,
        c + 4 * C.offset, C.ld, C.stride, +accumulate, batch, wasm.scratch);
      return;
    }
  }
  if (A.packed) throw new RangeError('gemmBatched: a packed A needs the wasm kernels and arena arrays');
  gemmBatchedLoop(gemmBlocked, M, N, K, A, B, C, accumulate, batch);
}

function packedFloats(panelRows: number, M: number, K: number): number {
  return Math.ceil(M / panelRows) * panelRows * K;
}

/**
 * Packs op(A_n) for n < batch once, for products that reuse them many times (Winograd's
 * transformed filters, once per batch rather than once per group of images): `out`
 * becomes a packed operand over `into` (from its offset), which gemmBatched then reads
 * without packing. False, leaving `out` alone, when the wasm kernels cannot run on these
 * arrays: use A as it is then. `into` needs packedSize(M, K)·batch floats.
 */
export function packMatrices(M: number, K: number, A: MatrixOperand, batch: number, into: Float32Array, out: MatrixOperand): boolean {
  const wasm = activeWasmKernels();
  if (wasm === null || A.packed) return false;
  const a = arenaAddress(A.data), d = arenaAddress(into);
  if (a < 0 || d < 0) return false;
  const size = packedFloats(wasm.panelRows, M, K);
  const last = Math.max(batch - 1, 0);
  checkExtent('A', A.data, A.offset + last * A.stride, A.transposed ? K : M, A.transposed ? M : K, A.ld);
  checkExtent('packed A', into, out.offset + last * size, 1, size, 0);
  wasm.packA(+A.transposed, M, K, a + 4 * A.offset, A.ld, A.stride, batch, d + 4 * out.offset);
  out.data = into;
  out.stride = size;
  out.ld = 0;
  out.transposed = false;
  out.packed = true;
  return true;
}

/** Floats packMatrices needs per matrix (an upper bound when no wasm backend is loaded). */
export function packedSize(M: number, K: number): number {
  return packedFloats(activeWasmKernels()?.panelRows ?? 4, M, K);
}

/** gemmBatched as a loop of single products by `kernel` (the TypeScript path, and the tests' yardstick). */
export function gemmBatchedLoop(
  kernel: typeof gemmReference, M: number, N: number, K: number,
  A: MatrixOperand, B: MatrixOperand, C: MatrixOperand, accumulate: boolean, batch: number,
): void {
  const ta = A.transposed, tb = B.transposed;
  if (batch === 0 && C.stride === 0 && !accumulate) kernel(ta, tb, M, N, 0, A.data, A.offset, A.ld, B.data, B.offset, B.ld, C.data, C.offset, C.ld, false);
  for (let n = 0; n < batch; n++) {
    const acc = accumulate || (C.stride === 0 && n > 0);
    kernel(ta, tb, M, N, K, A.data, A.offset + n * A.stride, A.ld, B.data, B.offset + n * B.stride, B.ld,
      C.data, C.offset + n * C.stride, C.ld, acc);
  }
}

function checkExtent(name: string, X: Float32Array, off: number, rows: number, cols: number, ld: number): void {
  if (rows <= 0 || cols <= 0) return;
  const last = off + (rows - 1) * ld + cols - 1;
  if (!(off >= 0 && ld >= 0 && last < X.length) || !Number.isInteger(last)) {
    throw new RangeError(`gemm: ${name} (${rows}×${cols}, offset ${off}, leading dim ${ld}) does not fit its array of ${X.length}`);
  }
}

/** The textbook triple loop: slow, obviously right, the yardstick for faster kernels. */
export function gemmReference(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? A[aOff + p * lda + i] : A[aOff + i * lda + p];
        const b = transB ? B[bOff + j * ldb + p] : B[bOff + p * ldb + j];
        sum += a * b;
      }
      const c = cOff + i * ldc + j;
      C[c] = accumulate ? C[c] + sum : sum;
    }
  }
}
