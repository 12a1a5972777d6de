/**
 * GEMM (and im2col/col2im, ReLU, max pooling) speed per kernel on the shapes that
 * dominate training.
 * Needs `npm run build` first (it imports dist/).
 *
 *   node bench/gemm.mjs            prints a table, then one JSON line with the results
 *
 * `benchGemm()` returns the same results, for the main benchmark to include.
 * Each figure is the best of `repeats` timed runs of at least `minMs` each (single
 * thread), so it shows what the kernel can do, not the noise of a busy machine.
 */
import { fileURLToPath } from 'node:url';
import { reluBackward, reluBackwardReference, reluForward, reluForwardReference } from '../dist/kernels/elementwise.js';
import { gemm, gemmBatched, gemmBlocked, gemmReference, kernelInfo, operand, setKernelBackend } from '../dist/kernels/gemm.js';
import { col2im, col2imReference, im2col, im2colReference, patchGeometry } from '../dist/kernels/im2col.js';
import { allocF32, allocI32 } from '../dist/kernels/memory.js';
import { maxPoolBackward, maxPoolBackwardReference, maxPoolForward, maxPoolForwardReference } from '../dist/kernels/pooling.js';

/** [transA, transB, M, N, K, what it is] for batch 64. */
export const GEMM_SHAPES = [
  [false, false, 8, 36864, 25, 'default conv1 forward  W·cols'],
  [false, true, 8, 25, 36864, 'default conv1 dW       dY·colsᵀ'],
  [true, false, 25, 36864, 8, 'default conv1 dcols    Wᵀ·dY'],
  [false, false, 16, 4096, 200, 'default conv2 forward'],
  [false, true, 16, 200, 4096, 'default conv2 dW'],
  [true, false, 200, 4096, 16, 'default conv2 dcols'],
  [false, true, 64, 10, 256, 'default dense forward  X·Wᵀ'],
  [true, false, 10, 256, 64, 'default dense dW       dYᵀ·X'],
  [false, false, 64, 256, 10, 'default dense dX       dY·W'],
  [false, false, 2, 36864, 25, 'seed conv forward'],
  [false, true, 2, 25, 36864, 'seed conv dW'],
  [false, true, 64, 10, 288, 'seed dense forward'],
];

/**
 * The conv GEMMs as the layer runs them, image by image in one gemmBatched call (batch
 * 64): [transA, transB, M, N, K, strideA, strideB, strideC, what]. K includes the ones
 * row that carries the bias in forward.
 */
export const BATCHED_SHAPES = [
  [false, false, 8, 576, 26, 0, 26 * 576, 8 * 576, 'default conv1 forward  Y_n = [W|b]·cols_n'],
  [false, true, 8, 25, 576, 8 * 576, 26 * 576, 0, 'default conv1 dW       Σ dY_n·cols_nᵀ'],
  [false, false, 16, 64, 201, 0, 201 * 64, 16 * 64, 'default conv2 forward'],
  [false, true, 16, 200, 64, 16 * 64, 201 * 64, 0, 'default conv2 dW'],
  [true, false, 200, 64, 16, 0, 16 * 64, 200 * 64, 'default conv2 dcols    dcols_n = Wᵀ·dY_n'],
];

/** [C, H, k, stride, pad] per image, batch 64. */
export const PATCH_SHAPES = [
  [1, 28, 5, 1, 0, 'conv1 (1×28×28, 5×5)'],
  [8, 12, 5, 1, 0, 'conv2 (8×12×12, 5×5)'],
];

const BACKENDS = ['wasm-simd', 'wasm-relaxed-simd'];

function random(a) {
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/** Best time per call in ms: `repeats` runs, each looping for at least minMs. */
function timeIt(fn, { minMs, repeats }) {
  fn(); // warm-up (and JIT)
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    do {
      fn();
      calls++;
      t1 = performance.now();
    } while (t1 - t0 < minMs);
    best = Math.min(best, (t1 - t0) / calls);
  }
  return best;
}

export async function benchGemm({ minMs = 50, repeats = 10, batch = 64 } = {}) {
  const startBackend = kernelInfo().backend;
  const available = BACKENDS.filter((b) => setKernelBackend(b));
  const opts = { minMs, repeats };
  const gemmResults = [];
  for (const [transA, transB, M, N, K, what] of GEMM_SHAPES) {
    const lda = transA ? M : K, ldb = transB ? K : N;
    const flop = 2 * M * N * K;
    const row = { shape: `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K}`, what, M, N, K, transA, transB };
    // reference and TypeScript kernels on ordinary arrays (what KCONV_KERNELS=js runs)
    const A = random(new Float32Array(M * K)), B = random(new Float32Array(K * N)), C = new Float32Array(M * N);
    const refOpts = { minMs, repeats: Math.min(repeats, 2) }; // the triple loop is slow; two runs are plenty
    row.reference = flop / timeIt(() => gemmReference(transA, transB, M, N, K, A, 0, lda, B, 0, ldb, C, 0, N, false), refOpts) / 1e6;
    row.ts = flop / timeIt(() => gemmBlocked(transA, transB, M, N, K, A, 0, lda, B, 0, ldb, C, 0, N, false), opts) / 1e6;
    // wasm kernels on arena arrays, through gemm()'s dispatch as the layers call it
    const wA = allocF32(A.length), wB = allocF32(B.length), wC = allocF32(C.length);
    wA.set(A);
    wB.set(B);
    for (const backend of available) {
      setKernelBackend(backend);
      row[backend] = flop / timeIt(() => gemm(transA, transB, M, N, K, wA, 0, lda, wB, 0, ldb, wC, 0, N, false), opts) / 1e6;
    }
    gemmResults.push(row);
  }
  const batchedResults = [];
  for (const [transA, transB, M, N, K, sA, sB, sC, what] of BATCHED_SHAPES) {
    const lda = transA ? M : K, ldb = transB ? K : N, count = batch;
    const flop = 2 * M * N * K * count;
    const row = { shape: `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K} ×${count}`, what };
    const size = (s, one) => s * (count - 1) + one;
    const sizes = [size(sA, M * K), size(sB, K * N), size(sC, M * N)];
    const [A, B, C] = sizes.map((n) => random(new Float32Array(n)));
    const run = (X, Y, Z) => {
      const a = operand(X, 0, lda, sA, transA), b = operand(Y, 0, ldb, sB, transB), c = operand(Z, 0, N, sC);
      return () => gemmBatched(M, N, K, a, b, c, false, count);
    };
    row.ts = flop / timeIt(run(A, B, C), opts) / 1e6;
    const [wA, wB, wC] = sizes.map((n) => allocF32(n));
    wA.set(A);
    wB.set(B);
    for (const backend of available) {
      setKernelBackend(backend);
      row[backend] = flop / timeIt(run(wA, wB, wC), opts) / 1e6;
    }
    batchedResults.push(row);
  }
  // ReLU and 2×2 max pooling on conv1's output (8×24×24 per image), ms per batch.
  const layerResults = [];
  {
    const n = batch * 8 * 24 * 24;
    const pool = { planes: batch * 8, H: 24, W: 24, k: 2, stride: 2, OH: 12, OW: 12 };
    const nOut = batch * 8 * 12 * 12;
    const make = (alloc, allocInt) => {
      const x = random(alloc(n)), y = alloc(n), g = random(alloc(n)), dx = alloc(n);
      const py = alloc(nOut), am = allocInt(nOut), pg = random(alloc(nOut));
      return { x, y, g, dx, py, am, pg };
    };
    const p = make((k) => new Float32Array(k), (k) => new Int32Array(k));
    const w = make(allocF32, allocI32);
    const cases = [
      ['relu forward', (a) => reluForwardReference(a.x, a.y, n), (a) => reluForward(a.x, a.y, n)],
      ['relu backward', (a) => reluBackwardReference(a.x, a.g, a.dx, n), (a) => reluBackward(a.x, a.g, a.dx, n)],
      ['maxpool 2×2 forward', (a) => maxPoolForwardReference(pool, a.x, a.py, a.am), (a) => maxPoolForward(pool, a.x, a.py, a.am)],
      ['maxpool 2×2 backward', (a) => maxPoolBackwardReference(pool, a.pg, a.am, a.dx), (a) => maxPoolBackward(pool, a.pg, a.am, a.dx)],
    ];
    maxPoolForwardReference(pool, p.x, p.py, p.am);
    maxPoolForwardReference(pool, w.x, w.py, w.am);
    for (const [what, ref, fast] of cases) {
      const row = { what, batch, ms: { ts: timeIt(() => ref(p), opts) } };
      for (const backend of available) {
        setKernelBackend(backend);
        row.ms[backend] = timeIt(() => fast(w), opts);
      }
      layerResults.push(row);
    }
  }
  const patchResults = [];
  for (const [Cin, H, k, stride, pad, what] of PATCH_SHAPES) {
    const g = patchGeometry(Cin, H, H, k, stride, pad);
    const P = g.outHeight * g.outWidth, ld = batch * P, img = Cin * H * H;
    const x = random(allocF32(batch * img)), cols = allocF32(Cin * k * k * ld), dx = allocF32(x.length);
    const run = (i2c, c2i) => [
      () => { for (let n = 0; n < batch; n++) i2c(g, x, n * img, cols, n * P, ld); },
      () => { dx.fill(0); for (let n = 0; n < batch; n++) c2i(g, cols, n * P, ld, dx, n * img); },
    ];
    const row = { what, batch };
    const [ri, rc] = run(im2colReference, col2imReference);
    row.im2colMs = { ts: timeIt(ri, opts) };
    row.col2imMs = { ts: timeIt(rc, opts) };
    for (const backend of available) {
      setKernelBackend(backend);
      const [wi, wc] = run(im2col, col2im);
      row.im2colMs[backend] = timeIt(wi, opts);
      row.col2imMs[backend] = timeIt(wc, opts);
    }
    patchResults.push(row);
  }
  setKernelBackend(startBackend);
  return {
    bench: 'gemm', unit: 'GFLOP/s', node: process.version, defaultBackend: startBackend,
    gemm: gemmResults, batched: batchedResults, patches: patchResults, layers: layerResults,
  };
}

function printTable(res) {
  const cols = ['reference', 'ts', ...BACKENDS];
  const fmt = (v) => (v === undefined ? '—' : v.toFixed(v < 10 ? 2 : 1)).padStart(10);
  console.log(`GEMM, GFLOP/s, one thread (node ${res.node}; default backend ${res.defaultBackend})`);
  console.log(`${'shape'.padEnd(18)}${cols.map((c) => c.padStart(18)).join('')}   what`);
  for (const r of res.gemm) {
    console.log(`${r.shape.padEnd(18)}${cols.map((c) => fmt(r[c]).padStart(18)).join('')}   ${r.what}`);
  }
  console.log(`\nbatched GEMM as the conv layers run it, GFLOP/s (ts: TypeScript path on ordinary arrays)`);
  const bcols = ['ts', ...BACKENDS];
  for (const r of res.batched) {
    console.log(`${r.shape.padEnd(22)}${bcols.map((c) => fmt(r[c]).padStart(18)).join('')}   ${r.what}`);
  }
  console.log(`\nim2col / col2im, ms per batch of ${res.patches[0]?.batch}`);
  for (const r of res.patches) {
    const cell = (m) => ['ts', ...BACKENDS].map((b) => `${b} ${m[b] === undefined ? '—' : m[b].toFixed(3)}`).join('  ');
    console.log(`${r.what.padEnd(24)} im2col: ${cell(r.im2colMs)}`);
    console.log(`${''.padEnd(24)} col2im: ${cell(r.col2imMs)}`);
  }
  console.log(`\nReLU and max pooling on 8×24×24 per image, ms per batch of ${res.layers[0]?.batch} (ts: the reference loops)`);
  for (const r of res.layers) {
    console.log(`${r.what.padEnd(24)} ${['ts', ...BACKENDS].map((b) => `${b} ${r.ms[b] === undefined ? '—' : r.ms[b].toFixed(3)}`).join('  ')}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const res = await benchGemm();
  printTable(res);
  console.log(JSON.stringify(res));
}
