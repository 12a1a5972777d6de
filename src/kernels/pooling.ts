/**
 * Max pooling kernels over `planes` independent H×W planes (N·C of a batch), k×k
 * windows at stride s, OH×OW outputs per plane, all NCHW and contiguous.
 *
 * Forward writes each window's maximum to y and, to argmax, the flat index (from x[0])
 * of the input it came from: the first maximum in scan order on ties, because only a
 * strictly greater value replaces the current best (a NaN first element therefore wins,
 * later NaNs are ignored). Backward sets dx to 0 and adds each dy at its argmax, so
 * overlapping windows (s < k) that pick the same input sum their gradients.
 *
 * Dispatch as in gemm.ts: when x, y and argmax (or dy, argmax and dx) all live in the
 * kernel arena (argmax from allocI32) the wasm kernels run, which specialise 2×2 windows
 * at stride 2 with f32x4 selects; otherwise the reference loops below. Results are
 * bit-identical either way.
 */
import { arenaAddress } from './memory.js';
import { activeWasmKernels } from './wasm.js';

export interface PoolShape {
  planes: number;
  H: number;
  W: number;
  k: number;
  stride: number;
  OH: number;
  OW: number;
}

export function maxPoolForward(s: PoolShape, x: Float32Array, y: Float32Array, argmax: Int32Array): void {
  checkPool('maxPoolForward', s, x, y, argmax);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const xa = arenaAddress(x), ya = arenaAddress(y), aa = arenaAddress(argmax);
    if (xa >= 0 && ya >= 0 && aa >= 0) {
      wasm.maxPoolForward(xa, s.planes, s.H, s.W, s.k, s.stride, s.OH, s.OW, ya, aa);
      return;
    }
  }
  maxPoolForwardReference(s, x, y, argmax);
}

/**
 * `argmax` must come from maxPoolForward with the same shape. Its indices are not checked
 * up front (that would be a pass of its own); in wasm one outside dx traps, throwing
 * instead of writing into a neighbouring buffer.
 */
export function maxPoolBackward(s: PoolShape, dy: Float32Array, argmax: Int32Array, dx: Float32Array): void {
  checkPool('maxPoolBackward', s, dx, dy, argmax);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const ga = arenaAddress(dy), aa = arenaAddress(argmax), da = arenaAddress(dx);
    if (ga >= 0 && aa >= 0 && da >= 0) {
      wasm.maxPoolBackward(ga, aa, s.planes, s.H, s.W, s.k, s.stride, s.OH, s.OW, da);
      return;
    }
  }
  maxPoolBackwardReference(s, dy, argmax, dx);
}

/** The plain loops, kept as the yardstick for the wasm versions. */
export function maxPoolForwardReference(s: PoolShape, x: Float32Array, y: Float32Array, argmax: Int32Array): void {
  const { planes, H, W, k, stride, OH, OW } = s;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let best = base + oy * stride * W + ox * stride;
        let bestVal = x[best];
        for (let ki = 0; ki < k; ki++) {
          const row = base + (oy * stride + ki) * W + ox * stride;
          for (let kj = 0; kj < k; kj++) {
            const v = x[row + kj];
            if (v > bestVal) {
              bestVal = v;
              best = row + kj;
            }
          }
        }
        y[o] = bestVal;
        argmax[o++] = best;
      }
    }
  }
}

export function maxPoolBackwardReference(s: PoolShape, dy: Float32Array, argmax: Int32Array, dx: Float32Array): void {
  const n = s.planes * s.OH * s.OW;
  dx.fill(0, 0, s.planes * s.H * s.W);
  // += because overlapping windows (stride < size) can pick the same input twice.
  for (let o = 0; o < n; o++) dx[argmax[o]] += dy[o];
}

/** In wasm an out-of-range index would hit a neighbouring buffer, so check the extents. */
function checkPool(name: string, s: PoolShape, input: Float32Array, out: Float32Array, argmax: Int32Array): void {
  const { planes, H, W, k, stride, OH, OW } = s;
  const ints = [planes, H, W, k, stride, OH, OW].every((v) => Number.isInteger(v) && v >= 0);
  if (!ints || k < 1 || stride < 1 || (OH > 0 && (OH - 1) * stride + k > H) || (OW > 0 && (OW - 1) * stride + k > W)) {
    throw new RangeError(`${name}: bad shape ${JSON.stringify(s)}`);
  }
  const nIn = planes * H * W, nOut = planes * OH * OW;
  if (input.length < nIn || out.length < nOut || argmax.length < nOut) {
    throw new RangeError(`${name}: arrays too short for ${JSON.stringify(s)} (${input.length}, ${out.length}, ${argmax.length})`);
  }
}
