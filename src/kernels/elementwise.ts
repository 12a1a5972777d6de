/**
 * Element-wise kernels of the layers: ReLU forward and backward, a convolution's
 * epilogue, batch normalization's per-plane sums and per-channel linear maps, dropout's
 * backward product.
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
  checkSpan('zeroFloats', a, off, n);
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

/**
 * Batch normalization's sums: for each of `planes` planes of P values from a[aOff] and
 * b[bOff], out[2q] = Σ a and out[2q+1] = Σ a·b, in float64 (forward: a = b = x gives the
 * plane's Σx and Σx²; backward: a = dy, b = x gives Σdy and Σdy·x).
 */
export function planeDots(a: Float32Array, aOff: number, b: Float32Array, bOff: number, planes: number, P: number, out: Float64Array): void {
  if (!(Number.isInteger(aOff) && Number.isInteger(bOff) && aOff >= 0 && bOff >= 0 && aOff + planes * P <= a.length &&
    bOff + planes * P <= b.length && out.length >= 2 * planes)) {
    throw new RangeError(`planeDots: ${planes} planes of ${P} do not fit (${a.length}, ${b.length}, ${out.length})`);
  }
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const aa = arenaAddress(a), ba = arenaAddress(b), oa = arenaAddress(out);
    if (aa >= 0 && ba >= 0 && oa >= 0) {
      wasm.planeDots(aa + 4 * aOff, ba + 4 * bOff, planes, P, oa);
      return;
    }
  }
  planeDotsReference(a, aOff, b, bOff, planes, P, out);
}

export function planeDotsReference(a: Float32Array, aOff: number, b: Float32Array, bOff: number, planes: number, P: number, out: Float64Array): void {
  for (let q = 0; q < planes; q++) {
    let sum = 0;
    let dot = 0;
    for (let j = 0; j < P; j++) {
      const v = a[aOff + q * P + j];
      sum += v;
      dot += v * b[bOff + q * P + j];
    }
    out[2 * q] = sum;
    out[2 * q + 1] = dot;
  }
}

/**
 * d = p[f]·g + q[f]·x + r[f] on `planes` planes of P values, plane k belonging to
 * channel f = k % F, each operation rounded to float32: batch normalization's output
 * (p = scale, q = 0, r = shift) and its input gradient.
 */
export function channelLinear(g: Float32Array, x: Float32Array, d: Float32Array, planes: number, F: number, P: number,
  p: Float32Array, q: Float32Array, r: Float32Array): void {
  const n = planes * P;
  checkLength('channelLinear', n, g, x, d);
  if (!(F > 0 && p.length >= F && q.length >= F && r.length >= F)) throw new RangeError(`channelLinear: ${F} channels need ${F} coefficients each`);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const ga = arenaAddress(g), xa = arenaAddress(x), da = arenaAddress(d), pa = arenaAddress(p), qa = arenaAddress(q), ra = arenaAddress(r);
    if (ga >= 0 && xa >= 0 && da >= 0 && pa >= 0 && qa >= 0 && ra >= 0) {
      wasm.channelLinear(ga, xa, da, planes, F, P, pa, qa, ra);
      return;
    }
  }
  channelLinearReference(g, x, d, planes, F, P, p, q, r);
}

export function channelLinearReference(g: Float32Array, x: Float32Array, d: Float32Array, planes: number, F: number, P: number,
  p: Float32Array, q: Float32Array, r: Float32Array): void {
  const f32 = Math.fround;
  for (let k = 0; k < planes; k++) {
    const pf = p[k % F], qf = q[k % F], rf = r[k % F];
    for (let i = k * P; i < (k + 1) * P; i++) d[i] = f32(f32(f32(pf * g[i]) + f32(qf * x[i])) + rf);
  }
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
/** d[i] = a[i]·b[i], i < n (dropout's backward: the gradient times the mask; its wasm is in dropout.wat). */
export function mulFloats(a: Float32Array, b: Float32Array, d: Float32Array, n: number): void {
  if (!(Number.isInteger(n) && n >= 0 && n <= a.length && n <= b.length && n <= d.length)) {
    throw new RangeError(`mulFloats: ${n} elements do not fit (${a.length}, ${b.length}, ${d.length})`);
  }
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const aa = arenaAddress(a), ba = arenaAddress(b), da = arenaAddress(d);
    if (aa >= 0 && ba >= 0 && da >= 0) {
      wasm.mulFloats(aa, ba, da, n);
      return;
    }
  }
  mulFloatsReference(a, b, d, n);
}

export function mulFloatsReference(a: Float32Array, b: Float32Array, d: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) d[i] = a[i] * b[i];
}

/** Throws unless a[off … off+n) lies inside `a`, off and n whole and not negative. */
export function checkSpan(name: string, a: Float32Array, off: number, n: number): void {
  if (!(Number.isInteger(off) && Number.isInteger(n) && off >= 0 && n >= 0 && off + n <= a.length)) {
    throw new RangeError(`${name}: [${off}, ${off + n}) does not fit an array of ${a.length}`);
  }
}

function checkLength(name: string, n: number, ...arrays: Float32Array[]): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}: bad length ${n}`);
  for (const a of arrays) {
    if (a.length < n) throw new RangeError(`${name}: ${n} elements do not fit an array of ${a.length}`);
  }
}
