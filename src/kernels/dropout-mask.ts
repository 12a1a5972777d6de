/**
 * Dropout's mask for one image, drawn and applied in one pass:
 *
 *   m[i] = (draw i < rate) ? 0 : keep,   y[i] = x[i]·m[i]      for i < n
 *
 * where draw i is the i-th output of mulberry32 (src/random.ts) started from `state`, the
 * image's seed (src/layers/dropout.ts keys it by seed, step, dataset row and layer). Draw
 * i of a freshly seeded mulberry32 is a hash of state + (i+1)·0x6d2b79f5 alone, so the
 * draws need no sequential state: the wasm kernel computes four at once in the lanes of
 * an f32x4/i32x4 and compares the 32-bit hash with an integer limit instead of dividing
 * (r/2³² < rate ⇔ r ≤ ⌈rate·2³²⌉ − 1, exactly). The mask holds keep = 1/(1 − rate) rounded
 * to float32, while y = x·keep is the product with the double keep, rounded once (in wasm
 * two f64 lanes at a time): so training gives bit for bit the values of the plain loop the
 * layer ran before this kernel, and its backward (dx = dy·m, a float32 product) is unchanged.
 *
 * The reference below is the plain loop (Random.next() per value, as the layer drew its
 * masks before this kernel); `kconv check`'s dropout row and test/unit/dropout-masks.test.ts
 * require the two to agree bit for bit. Dispatch as in elementwise.ts: arrays in the
 * kernel arena go to wasm, others to the reference. (The backward, dy times the mask, is
 * elementwise.ts's mulFloats.)
 */
import { Random } from '../random.js';
import { checkSpan } from './elementwise.js';
import { arenaAddress } from './memory.js';
import { activeWasmKernels } from './wasm.js';

/** The largest 32-bit draw that is dropped at `rate` (0 < rate < 1). */
export function dropLimit(rate: number): number {
  return Math.ceil(rate * 4294967296) - 1;
}

/** y[yOff + i] = x[xOff + i]·m[mOff + i] with m the mask drawn from `state` at `rate`, i < n. */
export function dropoutMask(x: Float32Array, xOff: number, y: Float32Array, yOff: number, m: Float32Array, mOff: number,
  n: number, state: number, rate: number): void {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`dropoutMask: rate ${rate} is not in (0, 1)`);
  checkSpan('dropoutMask', x, xOff, n);
  checkSpan('dropoutMask', y, yOff, n);
  checkSpan('dropoutMask', m, mOff, n);
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const xa = arenaAddress(x), ya = arenaAddress(y), ma = arenaAddress(m);
    if (xa >= 0 && ya >= 0 && ma >= 0) {
      wasm.dropoutMask(xa + 4 * xOff, ya + 4 * yOff, ma + 4 * mOff, n, state | 0, dropLimit(rate) | 0, 1 / (1 - rate));
      return;
    }
  }
  dropoutMaskReference(x, xOff, y, yOff, m, mOff, n, state, rate);
}

const reference = new Random(0);

export function dropoutMaskReference(x: Float32Array, xOff: number, y: Float32Array, yOff: number, m: Float32Array, mOff: number,
  n: number, state: number, rate: number): void {
  const keep = 1 / (1 - rate);
  reference.setState(state);
  for (let i = 0; i < n; i++) {
    const s = reference.next() < rate ? 0 : keep;
    m[mOff + i] = s;
    y[yOff + i] = x[xOff + i] * s;
  }
}
