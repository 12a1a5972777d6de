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
 * A batch of products sharing shapes: for n < batch, with X_n the matrix at offset
 * xOff + n·strideX of X,
 *
 *   C_n (+)= op(A_n) · op(B_n)                         (strideC > 0)
 *   C   (+)= Σ_n op(A_n) · op(B_n)                     (strideC = 0: one sum)
 *
 * A stride of 0 shares that operand. Convolution uses it to work image by image on NCHW
 * data without transposing the batch: forward Y_n = W·cols_n (W shared), the weight
 * gradient dW = Σ_n dY_n·cols_nᵀ, the input gradient dcols_n = Wᵀ·dY_n. In wasm a
 * shared A is packed once for the batch and a sum of A·Bᵀ products stays in registers,
 * so one call beats `batch` calls to gemm. An empty sum (batch = 0, strideC = 0) clears C
 * unless accumulating.
 */
export function gemmBatched(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number, strideA: number,
  B: Float32Array, bOff: number, ldb: number, strideB: number,
  C: Float32Array, cOff: number, ldc: number, strideC: number,
  accumulate: boolean, batch: number,
): void {
  if (!(Number.isInteger(batch) && batch >= 0 && [strideA, strideB, strideC].every((s) => Number.isInteger(s) && s >= 0))) {
    throw new RangeError(`gemmBatched: bad batch ${batch} or strides ${strideA}, ${strideB}, ${strideC}`);
  }
  if (batch === 0 && (strideC > 0 || accumulate)) return; // no products, nothing to clear
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const a = arenaAddress(A), b = arenaAddress(B), c = arenaAddress(C);
    if (a >= 0 && b >= 0 && c >= 0) {
      // The last matrix of each operand is the furthest one: checking it (and the first) covers all.
      const last = Math.max(batch - 1, 0);
      checkExtent('A', A, aOff + last * strideA, transA ? K : M, transA ? M : K, lda);
      checkExtent('B', B, bOff + last * strideB, transB ? N : K, transB ? K : N, ldb);
      checkExtent('C', C, cOff + last * strideC, M, N, ldc);
      checkExtent('A', A, aOff, transA ? K : M, transA ? M : K, lda);
      checkExtent('B', B, bOff, transB ? N : K, transB ? K : N, ldb);
      checkExtent('C', C, cOff, M, N, ldc);
      wasm.gemmBatched(+transA, +transB, M, N, K, a + 4 * aOff, lda, strideA, b + 4 * bOff, ldb, strideB,
        c + 4 * cOff, ldc, strideC, +accumulate, batch, wasm.scratch);
      return;
    }
  }
  gemmBatchedLoop(gemmBlocked, transA, transB, M, N, K, A, aOff, lda, strideA, B, bOff, ldb, strideB, C, cOff, ldc, strideC, accumulate, batch);
}

/** gemmBatched as a loop of single products by `kernel` (the TypeScript path, and the tests' yardstick). */
export function gemmBatchedLoop(
  kernel: typeof gemmReference,
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number, strideA: number,
  B: Float32Array, bOff: number, ldb: number, strideB: number,
  C: Float32Array, cOff: number, ldc: number, strideC: number,
  accumulate: boolean, batch: number,
): void {
  if (batch === 0 && strideC === 0 && !accumulate) kernel(transA, transB, M, N, 0, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, false);
  for (let n = 0; n < batch; n++) {
    const acc = accumulate || (strideC === 0 && n > 0);
    kernel(transA, transB, M, N, K, A, aOff + n * strideA, lda, B, bOff + n * strideB, ldb, C, cOff + n * strideC, ldc, acc);
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
