/**
 * Element-wise kernels of the layers: ReLU forward and backward.
 *
 *   reluForward:  y[i] = x[i] > 0 ? x[i] : 0
 *   reluBackward: dx[i] = y[i] > 0 ? g[i] : 0      (y: the forward output)
 *
 * Dispatch as in gemm.ts: arrays all in the kernel arena go to wasm (f32x4, and selects
 * instead of branches: on random signs the branchy loop mispredicts about every other
 * element), others to the reference loops below. Both give bit-identical results,
 * NaN and −0 included (both map to +0 going forward).
 */
import { arenaAddress } from './memory.js';
import { activeWasmKernels } from './wasm.js';

/** y[0..n) = max(0, x[0..n)), with NaN → 0. `y` may be `x` (in place). */
export function reluForward(x: Float32Array, y: Float32Array, n: number): void {
  checkLength('reluForward', n, x, y);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const xa = arenaAddress(x), ya = arenaAddress(y);
    if (xa >= 0 && ya >= 0) {
      wasm.reluForward(xa, ya, n);
      return;
    }
  }
  reluForwardReference(x, y, n);
}

/** dx[0..n) = g where the forward output y is positive, else 0. */
export function reluBackward(y: Float32Array, g: Float32Array, dx: Float32Array, n: number): void {
  checkLength('reluBackward', n, y, g, dx);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const ya = arenaAddress(y), ga = arenaAddress(g), da = arenaAddress(dx);
    if (ya >= 0 && ga >= 0 && da >= 0) {
      wasm.reluBackward(ya, ga, da, n);
      return;
    }
  }
  reluBackwardReference(y, g, dx, n);
}

/** a[off … off+n) = 0, in wasm when a is in the arena (TypedArray.fill on shared memory is several times slower). */
export function zeroFloats(a: Float32Array, off: number, n: number): void {
  if (!(Number.isInteger(off) && Number.isInteger(n) && off >= 0 && n >= 0 && off + n <= a.length)) {
    throw new RangeError(`zeroFloats: [${off}, ${off + n}) does not fit an array of ${a.length}`);
  }
  const wasm = activeWasmKernels();
  const at = arenaAddress(a);
  if (wasm !== null && at >= 0) {
    wasm.zeroFloats(at + 4 * off, n);
    return;
  }
  a.fill(0, off, off + n);
}

/**
 * A convolution's epilogue, in place: y = act(scale[f]·y + shift[f]) on `planes` planes
 * of P values from y[yOff], plane q belonging to channel q % F; act = ReLU when `relu`.
 */
export function channelAffine(y: Float32Array, yOff: number, planes: number, F: number, P: number,
  scale: Float32Array, shift: Float32Array, relu: boolean): void {
  if (!(Number.isInteger(yOff) && yOff >= 0 && yOff + planes * P <= y.length && F > 0 && scale.length >= F && shift.length >= F)) {
    throw new RangeError(`channelAffine: ${planes} planes of ${P} at ${yOff} do not fit (${y.length}, ${scale.length}, ${shift.length})`);
  }
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const ya = arenaAddress(y), sa = arenaAddress(scale), ta = arenaAddress(shift);
    if (ya >= 0 && sa >= 0 && ta >= 0) {
      wasm.channelAffine(ya + 4 * yOff, planes, F, P, sa, ta, +relu);
      return;
    }
  }
  channelAffineReference(y, yOff, planes, F, P, scale, shift, relu);
}

export function channelAffineReference(y: Float32Array, yOff: number, planes: number, F: number, P: number,
  scale: Float32Array, shift: Float32Array, relu: boolean): void {
  for (let q = 0; q < planes; q++) {
    const s = scale[q % F], t = shift[q % F];
    for (let i = yOff + q * P; i < yOff + (q + 1) * P; i++) {
      const v = Math.fround(Math.fround(s * y[i]) + t);
      y[i] = relu ? (v > 0 ? v : 0) : v;
    }
  }
}

export function reluForwardReference(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

export function reluBackwardReference(y: Float32Array, g: Float32Array, dx: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? g[i] : 0;
}

/** In wasm an out-of-range index would hit a neighbouring buffer, so check. */
function checkLength(name: string, n: number, ...arrays: Float32Array[]): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}: bad length ${n}`);
  for (const a of arrays) {
    if (a.length < n) throw new RangeError(`${name}: ${n} elements do not fit an array of ${a.length}`);
  }
}
