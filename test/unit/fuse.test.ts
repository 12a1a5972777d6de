/**
 * ReLU fused into its neighbour for training (src/net/fuse.ts): where it goes, that a
 * training step gives exactly what separate layers give on every kernel backend, that
 * predicting still shows each conv's map before its ReLU, and that the `kconv check` row
 * catches a ReLU dropped by a half-done fusion.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FUSION_NETS, fusionCheck } from '../../src/check/checks.js';
import { kernelInfo, setKernelBackend, type Backend } from '../../src/kernels/gemm.js';
import { loadWasmKernels } from '../../src/kernels/wasm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { Relu } from '../../src/layers/relu.js';
import { fuseForTraining } from '../../src/net/fuse.js';
import { createNetwork, initHe, parseArch, Sequential } from '../../src/net/index.js';
import { Random } from '../../src/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const startBackend = kernelInfo().backend;
afterAll(() => {
  setKernelBackend(startBackend);
});

function pair(arch: string, shape: readonly number[]): [Sequential, Sequential] {
  const fused = new Sequential(parseArch(arch), shape);
  const separate = new Sequential(parseArch(arch), shape);
  initHe(fused, 5);
  initHe(separate, 5);
  fuseForTraining(separate.layers, false);
  return [fused, separate];
}

/** Where each ReLU went: 'conv' (before it), 'pool', 'next conv' (after it) or '-' (a layer of its own). */
function fusedWhere(net: Sequential): string[] {
  return net.layers.flatMap((l, i) => {
    if (!(l instanceof Relu)) return [];
    if (!l.fusedInTraining) return ['-'];
    const before = net.layers[i - 1], after = net.layers[i + 1];
    if (before instanceof Conv2d && before.reluInTraining) return ['conv'];
    if (after instanceof MaxPool2d && after.reluInTraining) return ['pool'];
    if (after instanceof Conv2d && after.reluBeforeInTraining) return ['next conv'];
    return ['lost'];
  });
}

describe('ReLU fusion for training', () => {
  it('goes into a Winograd conv before it, else a max-pool after it, else a Winograd conv after it, else stays a layer', () => {
    expect(fusedWhere(createNetwork('default'))).toEqual(['pool', 'pool']);
    // wide: conv1 (1 channel) is im2col, so its ReLU goes into conv2's input copy; the dense ReLU has no neighbour to go to
    expect(fusedWhere(createNetwork('wide'))).toEqual(['next conv', 'conv', 'conv', 'conv', '-']);
    // bn: every conv ReLU follows a batchnorm; those before a pool go into it, the others into the next conv
    expect(fusedWhere(createNetwork('bn'))).toEqual(['next conv', 'pool', 'next conv', 'pool', '-']);
  });

  it('never fuses across the frozen boundary of a fine-tune: a frozen conv runs as when predicting and would drop the ReLU', () => {
    // conv8k3p1 has 4 input channels: a Winograd conv, whose ReLU fuses into it when it trains, and
    // so does the ReLU before it (conv4k3p1, on the 1-channel input, is im2col), into its input copy.
    const net = new Sequential(parseArch('conv4k3p1,relu,conv8k3p1,relu,pool2,dense10'), [1, 8, 8]);
    initHe(net, 3);
    expect(fusedWhere(net)).toEqual(['next conv', 'conv']);
    net.freeze(2);
    expect(fusedWhere(net)).toEqual(['-', 'pool']);
    const random = new Random(4);
    const x: Tensor = { data: Float32Array.from({ length: 2 * 64 }, () => random.normal()), shape: [2, 1, 8, 8] };
    // Nothing random in this net: the frozen net's training forward equals its predicting forward.
    const training = Float32Array.from(net.forward(x, true).data);
    expect(Array.from(net.forward(x, false).data)).toEqual(Array.from(training));
    net.freeze(0);
    expect(fusedWhere(net)).toEqual(['next conv', 'conv']);
  });

  const backends: Backend[] = ['js', 'wasm-simd', 'wasm-relaxed-simd'];
  for (const backend of backends) {
    const available = backend === 'js' || loadWasmKernels(backend === 'wasm-simd' ? 'simd' : 'relaxed') !== null;
    it.skipIf(!available)(`a training step matches separate layers exactly (${backend})`, () => {
      expect(setKernelBackend(backend)).toBe(true);
      for (const [arch, shape] of FUSION_NETS) {
        const [fused, separate] = pair(arch, shape);
        expect(fusedWhere(fused)).not.toContain('lost');
        expect(fusedWhere(fused).filter((w) => w !== '-').length).toBeGreaterThan(0);
        expect(fusionCheck(fused, separate, 3, 9)).toBe(0);
      }
    });
  }

  const bothSimd = loadWasmKernels('simd') !== null && loadWasmKernels('relaxed') !== null;
  it.skipIf(!bothSimd)('the plain-SIMD and relaxed-SIMD kernels train the fused wide-style net alike', () => {
    const [arch, shape] = FUSION_NETS[1];
    const grads = (backend: Backend) => {
      expect(setKernelBackend(backend)).toBe(true);
      const [fused, separate] = pair(arch, shape);
      expect(fusionCheck(fused, separate, 2, 4)).toBe(0);
      return fused.params().map((p) => p.grad.slice());
    };
    const plain = grads('wasm-simd'), relaxed = grads('wasm-relaxed-simd');
    plain.forEach((g, i) => {
      const scale = Math.max(...relaxed[i].map(Math.abs));
      for (let k = 0; k < g.length; k++) expect(Math.abs(g[k] - relaxed[i][k])).toBeLessThanOrEqual(1e-4 * scale);
    });
  });

  it('predicting still computes every map: the conv output before its ReLU, then the ReLU', () => {
    const [fused] = pair(FUSION_NETS[1][0], FUSION_NETS[1][1]);
    const random = new Random(4);
    const x: Tensor = { data: Float32Array.from({ length: 2 * 144 }, () => random.normal()), shape: [2, 1, 12, 12] };
    fused.forward(x, true); // a training step first: the flags must not leak into predicting
    let t = x;
    const outs = fused.layers.map((l) => (t = l.forward(t, false)));
    const reluAt = fused.layers.findIndex((l, i) => l instanceof Relu && l.fusedInTraining && fused.layers[i - 1] instanceof Conv2d);
    expect(reluAt).toBeGreaterThan(0);
    const before = outs[reluAt - 1].data, after = outs[reluAt].data;
    expect(before.some((v) => v < 0)).toBe(true);
    expect(after).not.toBe(before);
    for (let i = 0; i < before.length; i++) expect(after[i]).toBe(Math.max(0, before[i]));
    // and the ReLU fused into the conv after it: its map too, and the conv reads it
    const nextAt = fused.layers.findIndex((l, i) => l instanceof Relu && l.fusedInTraining && fused.layers[i + 1] instanceof Conv2d &&
      (fused.layers[i + 1] as Conv2d).reluBeforeInTraining);
    expect(nextAt).toBeGreaterThan(0);
    expect(outs[nextAt].data).not.toBe(outs[nextAt - 1].data);
    expect(outs[nextAt - 1].data.some((v) => v < 0)).toBe(true);
    expect(outs[nextAt].data.every((v) => v >= 0)).toBe(true);
    const poolAt = fused.layers.findIndex((l) => l instanceof MaxPool2d && l.reluInTraining);
    expect(poolAt).toBeGreaterThan(0);
  });

  it('the check catches a ReLU that passes through with nobody applying it', () => {
    for (const [arch, shape] of FUSION_NETS) {
      const [fused, separate] = pair(arch, shape);
      for (const l of fused.layers) {
        if (l instanceof Conv2d) l.reluInTraining = l.reluBeforeInTraining = false;
        if (l instanceof MaxPool2d) l.reluInTraining = false;
      }
      expect(fusionCheck(fused, separate, 3, 9)).toBeGreaterThan(1e-2);
    }
  });
});
