/**
 * Batch normalization folded into the conv or dense layer before it when predicting
 * (src/predict/fold-batchnorm.ts): the folded net gives the unfolded net's probabilities,
 * a folding that forgets the running mean (or the variance) does not, and the network it
 * folds, whose weights are saved and whose maps `kconv show` draws, is left as it was.
 */
import { describe, expect, it } from 'vitest';
import { FOLD_TOLERANCE, foldChecks, foldingError } from '../../src/check/checks.js';
import { BatchNorm } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dense } from '../../src/layers/dense.js';
import type { ModelFile } from '../../src/model/weights-file.js';
import { createNetwork, DEFAULT_INPUT } from '../../src/net/index.js';
import type { Sequential } from '../../src/net/sequential.js';
import { copyFolded, foldBatchNorm } from '../../src/predict/fold-batchnorm.js';
import { predict, predictionNet } from '../../src/predict/predict.js';
import { Random } from '../../src/random.js';
import { forEachPrediction } from '../../src/batch/evaluate.js';
import { digitsDataset } from '../helpers/digits.js';

/** Bit-identical float arrays (toEqual on 400k floats takes seconds). */
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The fold, then a planted bug: each folded conv/dense bias off by what `wrong` says, per channel. */
function plantedFold(wrong: (bn: BatchNorm, c: number) => number): (net: Sequential) => Sequential {
  return (net) => {
    const folded = foldBatchNorm(net);
    let k = 0;
    net.layers.forEach((layer, i) => {
      const next = net.layers[i + 1];
      if (layer instanceof BatchNorm && i > 0 && (net.layers[i - 1] instanceof Conv2d || net.layers[i - 1] instanceof Dense)) return;
      const to = folded.layers[k++] as Conv2d;
      if (next instanceof BatchNorm && (layer instanceof Conv2d || layer instanceof Dense)) {
        for (let c = 0; c < next.features; c++) to.bias[c] += wrong(next, c);
      }
    });
    return folded;
  };
}

describe('batch norm folded when predicting', () => {
  it('folded and unfolded nets give the same probabilities to 1e-5 (bn preset: convs and a dense before batch norm)', () => {
    for (const arch of ['bn', 'conv4k3p1,bn,relu,avgpool2,conv6k3,bn,relu,gap,dense8,bn,relu,dense10']) {
      expect(foldingError(arch), arch).toBeLessThan(FOLD_TOLERANCE);
    }
    expect(foldChecks().every((r) => r.pass)).toBe(true);
  });

  it('fails a folding that forgets the running mean, or β', () => {
    // Forgetting the mean: b' = β + b·s instead of β + (b − μ)·s.
    const noMean = plantedFold((bn, c) => (bn.runningMean[c] * bn.weight[c]) / Math.sqrt(bn.runningVar[c] + bn.eps));
    expect(foldingError('bn', noMean)).toBeGreaterThan(100 * FOLD_TOLERANCE);
    // Forgetting β.
    expect(foldingError('bn', plantedFold((bn, c) => -bn.bias[c]))).toBeGreaterThan(100 * FOLD_TOLERANCE);
  });

  it('removes exactly the batch norms after a conv or dense layer, gives their conv a bias, and leaves one after a ReLU', () => {
    const net = createNetwork('conv4k3p1,bn,relu,bn,conv6k3,bn,relu,gap,dense8,bn,relu,dense10', 1);
    const folded = foldBatchNorm(net);
    expect(net.layers.map((l) => l.type).join(',')).toBe('conv2d,batchnorm,relu,batchnorm,conv2d,batchnorm,relu,globalavgpool,dense,batchnorm,relu,dense');
    expect(folded.layers.map((l) => l.type).join(',')).toBe('conv2d,relu,batchnorm,conv2d,relu,globalavgpool,dense,relu,dense');
    expect(folded.layers.filter((l) => l instanceof Conv2d).every((l) => (l as Conv2d).hasBias)).toBe(true);
    // A net without batch norm is used as it is: nothing copied.
    const plain = createNetwork('default', 1);
    expect(foldBatchNorm(plain)).toBe(plain);
    expect(predictionNet(plain)).toBe(plain);
  });

  it('predict gives the unfolded net\'s probabilities, leaves the network it folds untouched, and follows it when its weights change', async () => {
    const net = createNetwork('bn', 2);
    const random = new Random(3);
    for (const b of net.buffers()) for (let i = 0; i < b.value.length; i++) b.value[i] = b.name === 'runningVar' ? 0.5 + random.next() : random.normal() * 0.1;
    const before = net.state().map((v) => v.slice());
    const data = digitsDataset(40, 2);
    const model: ModelFile = { input: DEFAULT_INPUT, arch: 'bn', net };
    const first = await predict(model, data, 1);
    net.state().forEach((v, k) => expect(sameBits(v, before[k]), `array ${k}`).toBe(true));
    const unfolded = new Float32Array(first.probs.length);
    forEachPrediction(net, DEFAULT_INPUT, data, null, (start, count, p) => unfolded.set(p.subarray(0, count * 10), start * 10));
    let worst = 0;
    for (let i = 0; i < unfolded.length; i++) worst = Math.max(worst, Math.abs(unfolded[i] - first.probs[i]));
    expect(worst).toBeLessThan(1e-5);
    const again = predictionNet(net);
    expect(again).toBe(predictionNet(net)); // built once per network
    expect(again).not.toBe(net);
    // New weights: the cached folded net is refreshed from them.
    for (const p of net.params()) for (let i = 0; i < p.value.length; i++) p.value[i] *= 1.1;
    const second = await predict(model, data, 1);
    let moved = 0;
    for (let i = 0; i < first.probs.length; i++) moved = Math.max(moved, Math.abs(first.probs[i] - second.probs[i]));
    expect(moved).toBeGreaterThan(1e-3);
    const fresh = foldBatchNorm(net);
    copyFolded(net, fresh);
    predictionNet(net).state().forEach((v, k) => expect(sameBits(v, fresh.state()[k]), `array ${k}`).toBe(true));
  });
});
