import { expect } from 'vitest';

/**
 * A deterministic conv → relu → pool stack, run forward and backward on three batch
 * sizes; returns every output. Plain JavaScript source, so that a child process with
 * KCONV_KERNELS=js (test/cli/layer-kernels.test.ts) runs on the built modules exactly the
 * code that test/unit/layer-kernels.test.ts runs on every backend in its own process.
 */
export const STACK_SRC = `
  const { Conv2d, Relu, MaxPool2d, allocF32 } = lib;
  let seed = 77;
  const r = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  const conv = new Conv2d([3, 11, 10], { inChannels: 3, outChannels: 4, kernel: 3, padding: 1 });
  for (let i = 0; i < conv.weight.length; i++) conv.weight[i] = r() - 0.5;
  for (let i = 0; i < conv.bias.length; i++) conv.bias[i] = r() - 0.5;
  conv.needsInputGrad = true;
  const relu = new Relu(conv.outShape);
  const pool = new MaxPool2d(conv.outShape, 2);
  const out = [];
  for (const n of [5, 2, 7]) { // a first, a smaller and a larger batch size
    const x = { data: allocF32(n * 3 * 11 * 10), shape: [n, 3, 11, 10] };
    for (let i = 0; i < x.data.length; i++) x.data[i] = r() * 2 - 1;
    const y = pool.forward(relu.forward(conv.forward(x, true), true), true);
    const g = { data: allocF32(y.data.length), shape: y.shape };
    for (let i = 0; i < g.data.length; i++) g.data[i] = r() - 0.5;
    const dx = conv.backward(relu.backward(pool.backward(g)));
    out.push(Float32Array.from(conv.forwardNaive(x).data), Float32Array.from(conv.forward(x, true).data));
    out.push(Float32Array.from(y.data), Float32Array.from(dx.data), Float32Array.from(conv.weightGrad), Float32Array.from(conv.biasGrad));
  }
  return out;`;

export const runStack = new Function('lib', STACK_SRC) as (lib: object) => Float32Array[];

/** Every output of `results` equals `reference`'s: relu and pooling exactly, the GEMMs to their summation order. */
export function expectLikeReference(results: Map<string, Float32Array[]>, reference: Float32Array[]): void {
  for (const [name, out] of results) {
    expect(out.length, name).toBe(reference.length);
    out.forEach((a, i) => {
      for (let j = 0; j < a.length; j++) {
        if (!(Math.abs(a[j]! - reference[i]![j]!) <= 1e-5 * (1 + Math.abs(reference[i]![j]!)))) {
          throw new Error(`${name}: output ${i}[${j}] = ${a[j]}, TypeScript path ${reference[i]![j]}`);
        }
      }
    });
  }
}
