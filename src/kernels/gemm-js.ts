/**
 * The portable GEMM: cache-blocked, with a 4×8 register-blocked micro-kernel in plain
 * TypeScript. It is the fallback when WebAssembly is unavailable (or KCONV_KERNELS=js)
 * and the path for arrays that do not live in the kernel arena.
 *
 * Blocking (Goto-style, simplified):
 *   for each KC-deep slice of K            — keeps packed panels in L1/L2
 *     for each MC-tall block of rows       — A block packed once, as MR-row panels
 *       for each NR-wide column tile       — B read in place (or packed if transposed/ragged)
 *         for each MR-row panel            — 4×8 micro-kernel, 32 accumulators in locals
 *
 * A is always packed ([panel][p][r], zero-padded rows), so transposed and plain A cost
 * the same in the hot loop. B is read in place when it is not transposed and the tile is
 * full width; otherwise the KC×NR panel is packed (zero-padded columns). Scratch is
 * allocated once per process, so calls allocate nothing.
 */

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;

const aPack = new Float32Array(MC * KC);
const bPack = new Float32Array(KC * NR);
const cTile = new Float64Array(MR * NR);

export function gemmBlocked(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    const accum = accumulate || pc > 0;
    for (let ic = 0; ic < M; ic += MC) {
      const mc = Math.min(MC, M - ic);
      packA(transA, A, aOff, lda, ic, pc, mc, kc);
      for (let jc = 0; jc < N; jc += NR) {
        const nr = Math.min(NR, N - jc);
        let bSrc = B;
        let bIdx = transB ? 0 : bOff + pc * ldb + jc;
        let bStride = ldb;
        if (transB || nr < NR) {
          packB(transB, B, bOff, ldb, pc, jc, kc, nr);
          bSrc = bPack;
          bIdx = 0;
          bStride = NR;
        }
        for (let ir = 0; ir < mc; ir += MR) {
          const mr = Math.min(MR, mc - ir);
          kernel4x8(kc, ir * kc, bSrc, bIdx, bStride, C, cOff + (ic + ir) * ldc + jc, ldc, accum, mr, nr);
        }
      }
    }
  }
}

/** Packs rows ic..ic+mc, depth pc..pc+kc of op(A) into MR-row panels laid out [p][r]. */
function packA(
  transA: boolean, A: Float32Array, aOff: number, lda: number,
  ic: number, pc: number, mc: number, kc: number,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const base = ir * kc;
    const mr = Math.min(MR, mc - ir);
    for (let r = 0; r < MR; r++) {
      let dst = base + r;
      if (r >= mr) {
        for (let p = 0; p < kc; p++, dst += MR) aPack[dst] = 0;
      } else if (transA) {
        // op(A)[i, p] = A[p, i]: walk down a column of the stored K×M matrix.
        let src = aOff + pc * lda + ic + ir + r;
        for (let p = 0; p < kc; p++, dst += MR, src += lda) aPack[dst] = A[src];
      } else {
        let src = aOff + (ic + ir + r) * lda + pc;
        for (let p = 0; p < kc; p++, dst += MR) aPack[dst] = A[src++];
      }
    }
  }
}

/** Packs depth pc..pc+kc, columns jc..jc+nr of op(B) into a kc×NR panel, zero-padded. */
function packB(
  transB: boolean, B: Float32Array, bOff: number, ldb: number,
  pc: number, jc: number, kc: number, nr: number,
): void {
  for (let j = 0; j < NR; j++) {
    let dst = j;
    if (j >= nr) {
      for (let p = 0; p < kc; p++, dst += NR) bPack[dst] = 0;
    } else if (transB) {
      // op(B)[p, j] = B[j, p]: a row of the stored N×K matrix, read contiguously.
      let src = bOff + (jc + j) * ldb + pc;
      for (let p = 0; p < kc; p++, dst += NR) bPack[dst] = B[src++];
    } else {
      let src = bOff + pc * ldb + jc + j;
      for (let p = 0; p < kc; p++, dst += NR, src += ldb) bPack[dst] = B[src];
    }
  }
}

/**
 * C[mr×nr] (+)= Apanel[4×kc] · B[kc×8]. The 32 sums live in locals (doubles in V8, so
 * the fallback is also the most accurate path); only the valid mr×nr corner is stored.
 */
function kernel4x8(
  kc: number, aIdx: number, B: Float32Array, bIdx: number, bStride: number,
  C: Float32Array, cIdx: number, ldc: number, accum: boolean, mr: number, nr: number,
): void {
  const ap = aPack;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let p = 0; p < kc; p++) {
    const b0 = B[bIdx], b1 = B[bIdx + 1], b2 = B[bIdx + 2], b3 = B[bIdx + 3];
    const b4 = B[bIdx + 4], b5 = B[bIdx + 5], b6 = B[bIdx + 6], b7 = B[bIdx + 7];
    bIdx += bStride;
    const a0 = ap[aIdx], a1 = ap[aIdx + 1], a2 = ap[aIdx + 2], a3 = ap[aIdx + 3];
    aIdx += MR;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
  }
  if (mr === MR && nr === NR) {
    const r0 = cIdx, r1 = cIdx + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
    if (accum) {
      C[r0] += c00; C[r0 + 1] += c01; C[r0 + 2] += c02; C[r0 + 3] += c03;
      C[r0 + 4] += c04; C[r0 + 5] += c05; C[r0 + 6] += c06; C[r0 + 7] += c07;
      C[r1] += c10; C[r1 + 1] += c11; C[r1 + 2] += c12; C[r1 + 3] += c13;
      C[r1 + 4] += c14; C[r1 + 5] += c15; C[r1 + 6] += c16; C[r1 + 7] += c17;
      C[r2] += c20; C[r2 + 1] += c21; C[r2 + 2] += c22; C[r2 + 3] += c23;
      C[r2 + 4] += c24; C[r2 + 5] += c25; C[r2 + 6] += c26; C[r2 + 7] += c27;
      C[r3] += c30; C[r3 + 1] += c31; C[r3 + 2] += c32; C[r3 + 3] += c33;
      C[r3 + 4] += c34; C[r3 + 5] += c35; C[r3 + 6] += c36; C[r3 + 7] += c37;
    } else {
      C[r0] = c00; C[r0 + 1] = c01; C[r0 + 2] = c02; C[r0 + 3] = c03;
      C[r0 + 4] = c04; C[r0 + 5] = c05; C[r0 + 6] = c06; C[r0 + 7] = c07;
      C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
      C[r1 + 4] = c14; C[r1 + 5] = c15; C[r1 + 6] = c16; C[r1 + 7] = c17;
      C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
      C[r2 + 4] = c24; C[r2 + 5] = c25; C[r2 + 6] = c26; C[r2 + 7] = c27;
      C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
      C[r3 + 4] = c34; C[r3 + 5] = c35; C[r3 + 6] = c36; C[r3 + 7] = c37;
    }
    return;
  }
  // Ragged edge: park the tile, then store only the rows and columns that exist.
  const t = cTile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c04; t[5] = c05; t[6] = c06; t[7] = c07;
  t[8] = c10; t[9] = c11; t[10] = c12; t[11] = c13; t[12] = c14; t[13] = c15; t[14] = c16; t[15] = c17;
  t[16] = c20; t[17] = c21; t[18] = c22; t[19] = c23; t[20] = c24; t[21] = c25; t[22] = c26; t[23] = c27;
  t[24] = c30; t[25] = c31; t[26] = c32; t[27] = c33; t[28] = c34; t[29] = c35; t[30] = c36; t[31] = c37;
  for (let r = 0; r < mr; r++) {
    const row = cIdx + r * ldc;
    for (let j = 0; j < nr; j++) C[row + j] = accum ? C[row + j] + t[r * NR + j] : t[r * NR + j];
  }
}
