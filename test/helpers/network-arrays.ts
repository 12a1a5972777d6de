import type { ModelFile } from '../../src/model/weights-file.js';
import type { Sequential } from '../../src/net/sequential.js';

/** Every array of a network (parameters, then buffers), copied. */
export const snapshot = (net: Sequential) => net.state().map((v) => Float32Array.from(v));
/** Layer i's arrays: its parameters, then its buffers (batch-norm running statistics). */
export const layerArrays = (net: Sequential, i: number) => [...net.layers[i].params().map((p) => p.value), ...(net.layers[i].buffers?.() ?? []).map((b) => b.value)];
/** Bit-identical arrays (Object.is: NaN equals NaN, 0 is not −0). */
export const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** True when layers [0, upTo) hold exactly the arrays they hold in `init`. */
export function unchangedUpTo(init: ModelFile, model: ModelFile, upTo: number): boolean {
  for (let i = 0; i < upTo; i++) {
    const a = layerArrays(init.net, i);
    const b = layerArrays(model.net, i);
    if (!a.every((v, k) => same(v, b[k]))) return false;
  }
  return true;
}

/** The largest |a − b| over arrays, divided by each array's largest |a| when `relative`. */
export function worstDiff(a: Float32Array[], b: Float32Array[], relative = false): number {
  let worst = 0;
  a.forEach((v, k) => {
    const scale = relative ? v.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-6) : 1;
    v.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[k][i]) / scale)));
  });
  return worst;
}
