/**
 * Loads the WebAssembly kernels built by src/kernels/wasm/build.mjs and picks a backend:
 *
 *   wasm-relaxed-simd  f32x4.relaxed_madd (FMA) — on by default from Node 22; on Node 20
 *                      we set V8's --experimental-wasm-relaxed-simd before compiling
 *   wasm-simd          plain f32x4 mul + add
 *   js                 the TypeScript kernels (no wasm, KCONV_KERNELS=js, or no binary)
 *
 * Detection is by WebAssembly.validate on the real binaries, so a V8 that cannot run
 * one falls back to the next. KCONV_KERNELS=simd|relaxed|js pins a backend (for tests
 * and comparisons). Everything is lazy: nothing is read or compiled until first use.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { allocF32, arenaAddress, arenaMemory, jsKernelsForced } from './memory.js';
import { WebAssemblyApi, type WasmGlobal } from './wasm-api.js';

export type Backend = 'wasm-relaxed-simd' | 'wasm-simd' | 'js';
export type WasmVariant = 'relaxed' | 'simd';

/** The exports of kernels-*.wasm; pointers are byte addresses, sizes in floats. */
export interface WasmKernels {
  gemm(transA: number, transB: number, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number, scratch: number): void;
  gemmBatched(transA: number, transB: number, M: number, N: number, K: number,
    a: number, lda: number, sa: number, b: number, ldb: number, sb: number, c: number, ldc: number, sc: number,
    accumulate: number, batch: number, scratch: number): void;
  /** Packs op(A_n), n < batch, into the panels gemmBatched reads with transA = 2 (see gemm.ts packMatrices). */
  packA(transA: number, M: number, K: number, a: number, lda: number, sa: number, batch: number, dst: number): void;
  im2col(x: number, C: number, H: number, W: number, k: number, stride: number, pad: number,
    OH: number, OW: number, cols: number, ldCols: number): void;
  col2im(cols: number, ldCols: number, C: number, H: number, W: number, k: number, stride: number, pad: number,
    OH: number, OW: number, dx: number): void;
  reluForward(x: number, y: number, n: number): void;
  reluBackward(y: number, g: number, dx: number, n: number): void;
  maxPoolForward(x: number, planes: number, H: number, W: number, k: number, stride: number,
    OH: number, OW: number, y: number, argmax: number): void;
  maxPoolBackward(g: number, argmax: number, planes: number, H: number, W: number, k: number, stride: number,
    OH: number, OW: number, dx: number): void;
  channelAffine(y: number, planes: number, F: number, P: number, scale: number, shift: number, relu: number): void;
  planeDots(a: number, b: number, planes: number, P: number, out: number): void;
  channelLinear(g: number, x: number, d: number, planes: number, F: number, P: number, p: number, q: number, r: number): void;
  wgInput2(xp: number, C: number, plane: number, W: number, th: number, tw: number, v: number, ld: number, xs: number): void;
  wgInput4(xp: number, C: number, plane: number, W: number, th: number, tw: number, v: number, ld: number, xs: number): void;
  wgOutput2(mm: number, ld: number, xs: number, F: number, th: number, tw: number, y: number, OH: number, OW: number, scale: number, shift: number, relu: number): void;
  wgOutput4(mm: number, ld: number, xs: number, F: number, th: number, tw: number, y: number, OH: number, OW: number, scale: number, shift: number, relu: number): void;
  wgGradOutput2(dyp: number, F: number, plane: number, W: number, th: number, tw: number, dm: number, ld: number, xs: number): void;
  wgGradOutput4(dyp: number, F: number, plane: number, W: number, th: number, tw: number, dm: number, ld: number, xs: number): void;
  wgInputAdjoint2(dv: number, ld: number, xs: number, C: number, th: number, tw: number, dxp: number, plane: number, W: number): void;
  wgInputAdjoint4(dv: number, ld: number, xs: number, C: number, th: number, tw: number, dxp: number, plane: number, W: number): void;
  wgFilter2(w: number, count: number, u: number, uStride: number): void;
  wgFilter4(w: number, count: number, u: number, uStride: number): void;
  wgFilterAdjoint2(du: number, uStride: number, count: number, dw: number): void;
  wgFilterAdjoint4(du: number, uStride: number, count: number, dw: number): void;
  zeroFloats(dst: number, n: number): void;
  dropoutMask(x: number, y: number, m: number, n: number, state: number, limit: number, keep: number): void;
  mulFloats(a: number, b: number, d: number, n: number): void;
  copyPlanesMasked(src: number, mask: number, srcPlane: number, srcRow: number, dst: number, dstPlane: number, dstRow: number,
    planes: number, rows: number, cols: number): void;
  copyPlanes(src: number, srcPlane: number, srcRow: number, dst: number, dstPlane: number, dstRow: number,
    planes: number, rows: number, cols: number): void;
  copyPlanesRelu(src: number, srcPlane: number, srcRow: number, dst: number, dstPlane: number, dstRow: number,
    planes: number, rows: number, cols: number): void;
  copyPlanesMaskedDst(src: number, srcPlane: number, srcRow: number, dst: number, mask: number, dstPlane: number, dstRow: number,
    planes: number, rows: number, cols: number): void;
  /** Byte address of this thread's scratch area (packed panels). */
  scratch: number;
  /** Rows per packed panel of A (the broadcast kernel's MR). */
  panelRows: number;
}

const loaded = new Map<WasmVariant, WasmKernels | null>();
let active: { backend: Backend; kernels: WasmKernels | null } | undefined;

function wasmBytes(variant: WasmVariant): Uint8Array | null {
  const name = `kernels-${variant}.wasm`;
  // Next to this module in dist/; when running from src/ (vitest), the built copy in dist/.
  for (const rel of [`./${name}`, `../../dist/kernels/${name}`]) {
    try {
      return readFileSync(new URL(rel, import.meta.url));
    } catch {
      // try the next place
    }
  }
  return null;
}

let relaxedFlagSet = false;

function validates(bytes: Uint8Array, variant: WasmVariant): boolean {
  if (WebAssemblyApi.validate(bytes)) return true;
  if (variant === 'relaxed' && !relaxedFlagSet) {
    // Node 20's V8 has relaxed SIMD behind a flag; it must be set before compiling.
    relaxedFlagSet = true;
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      return false;
    }
    return WebAssemblyApi.validate(bytes);
  }
  return false;
}

/** The instantiated kernels of one variant, or null when this runtime cannot run them. */
export function loadWasmKernels(variant: WasmVariant): WasmKernels | null {
  if (loaded.has(variant)) return loaded.get(variant) ?? null;
  let kernels: WasmKernels | null = null;
  const memory = arenaMemory();
  const bytes = memory ? wasmBytes(variant) : null;
  if (memory && bytes && validates(bytes, variant)) {
    try {
      const instance = new WebAssemblyApi.Instance(new WebAssemblyApi.Module(bytes), { env: { memory } });
      const e = instance.exports as unknown as Omit<WasmKernels, 'scratch' | 'panelRows'> & { scratchBytes: WasmGlobal; panelRows: WasmGlobal };
      const scratch = arenaAddress(allocF32(Math.ceil(Number(e.scratchBytes.value) / 4)));
      if (scratch >= 0) kernels = { ...e, scratch, panelRows: Number(e.panelRows.value) };
    } catch {
      kernels = null;
    }
  }
  loaded.set(variant, kernels);
  return kernels;
}

function pickBackend(): { backend: Backend; kernels: WasmKernels | null } {
  const want = (process.env.KCONV_KERNELS ?? '').toLowerCase();
  if (jsKernelsForced()) return { backend: 'js', kernels: null };
  const order: WasmVariant[] = want === 'simd' ? ['simd'] : ['relaxed', 'simd'];
  for (const variant of order) {
    const kernels = loadWasmKernels(variant);
    if (kernels) return { backend: variant === 'relaxed' ? 'wasm-relaxed-simd' : 'wasm-simd', kernels };
  }
  return { backend: 'js', kernels: null };
}

/** The wasm kernels in use, or null when the TypeScript kernels are. */
export function activeWasmKernels(): WasmKernels | null {
  active ??= pickBackend();
  return active.kernels;
}

/** Which kernels gemm/im2col/col2im and the layer kernels (ReLU, pooling) use in this process. */
export function kernelInfo(): { backend: Backend } {
  active ??= pickBackend();
  return { backend: active.backend };
}

/**
 * Pins a backend for the rest of the process (benchmarks and tests compare them).
 * Returns false, changing nothing, when that backend cannot run here. Arrays allocated
 * earlier stay valid under any backend.
 */
export function setKernelBackend(backend: Backend): boolean {
  if (backend === 'js') {
    active = { backend, kernels: null };
    return true;
  }
  const kernels = loadWasmKernels(backend === 'wasm-relaxed-simd' ? 'relaxed' : 'simd');
  if (!kernels) return false;
  active = { backend, kernels };
  return true;
}
