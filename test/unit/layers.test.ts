import { describe, expect, it } from 'vitest';
import { Conv2d, convOutputSize } from '../../src/layers/conv2d.js';
import { Dense } from '../../src/layers/dense.js';
import { BatchContext } from '../../src/layers/batch-context.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten } from '../../src/layers/flatten.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { Relu } from '../../src/layers/relu.js';
import { SoftmaxCrossEntropy } from '../../src/layers/softmax-cross-entropy.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const t = (values: number[], shape: number[]): Tensor => ({ data: Float32Array.from(values), shape });

describe('conv2d', () => {
  it('computes the article example [[3,3],[5,7]] by both paths', () => {
    const conv = new Conv2d([1, 3, 3], { inChannels: 1, outChannels: 1, kernel: 2 });
    conv.weight.set([1, 0, 0, 1]);
    const x = t([1, 0, 0, 1, 2, 3, 3, 4, 5], [1, 1, 3, 3]);
    expect(Array.from(conv.forwardNaive(x).data)).toEqual([3, 3, 5, 7]);
    expect(Array.from(conv.forward(x, false).data)).toEqual([3, 3, 5, 7]);
    expect(conv.outShape).toEqual([1, 2, 2]);
  });

  it('applies stride, zero padding and bias as worked out by hand', () => {
    // 1×3×3 input 1..9, 2×2 all-ones kernel, stride 2, padding 1, bias 0.5:
    // windows (padded) cover [1], [2,3], [4,7], [5,6,8,9] → 1, 5, 11, 28.
    const conv = new Conv2d([1, 3, 3], { inChannels: 1, outChannels: 1, kernel: 2, stride: 2, padding: 1 });
    conv.weight.fill(1);
    conv.bias[0] = 0.5;
    const x = t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    expect(Array.from(conv.forward(x, false).data)).toEqual([1.5, 5.5, 11.5, 28.5]);
    expect(Array.from(conv.forwardNaive(x).data)).toEqual([1.5, 5.5, 11.5, 28.5]);
  });

  it('sums over input channels and keeps filters apart, weight layout [out, in, k, k]', () => {
    // 2 channels of 2×2, 1×1 kernels: filter 0 = 1·c0 + 10·c1, filter 1 = −c0.
    const conv = new Conv2d([2, 2, 2], { inChannels: 2, outChannels: 2, kernel: 1 });
    conv.weight.set([1, 10, -1, 0]);
    const x = t([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    expect(Array.from(conv.forward(x, false).data)).toEqual([51, 62, 73, 84, -1, -2, -3, -4]);
  });

  it('has output size floor((H + 2p − k) / s) + 1', () => {
    expect(convOutputSize(28, 5, 1, 0)).toBe(24);
    expect(convOutputSize(7, 3, 2, 1)).toBe(4);
    expect(convOutputSize(8, 3, 2, 0)).toBe(3);
  });

  it('backward gives dW, db, dX that match hand values', () => {
    // Article example with dY = ones: dW[i,j] = sum of the 2×2 window sums, db = 4.
    const conv = new Conv2d([1, 3, 3], { inChannels: 1, outChannels: 1, kernel: 2 });
    conv.weight.set([1, 0, 0, 1]);
    const x = t([1, 0, 0, 1, 2, 3, 3, 4, 5], [1, 1, 3, 3]);
    conv.forward(x, true);
    const dx = conv.backward(t([1, 1, 1, 1], [1, 1, 2, 2]))!;
    expect(Array.from(conv.weightGrad)).toEqual([1 + 0 + 1 + 2, 0 + 0 + 2 + 3, 1 + 2 + 3 + 4, 2 + 3 + 4 + 5]);
    expect(conv.biasGrad[0]).toBe(4);
    // dX = full correlation of ones with the kernel: counts of how often each pixel meets a 1.
    expect(Array.from(dx.data)).toEqual([1, 1, 0, 1, 2, 1, 0, 1, 1]);
  });
});

describe('relu, maxpool2d, flatten, dense', () => {
  it('relu clamps negatives and passes gradient only where the output is positive', () => {
    const relu = new Relu([4]);
    expect(Array.from(relu.forward(t([-1, 0, 2, -3], [1, 4]), true).data)).toEqual([0, 0, 2, 0]);
    expect(Array.from(relu.backward(t([5, 6, 7, 8], [1, 4]))!.data)).toEqual([0, 0, 7, 0]);
  });

  it('maxpool2d takes window maxima, floors the size and routes the gradient to the first maximum', () => {
    const pool = new MaxPool2d([1, 3, 5], 2);
    expect(pool.outShape).toEqual([1, 1, 2]);
    // rows: [1 9 2 2 0] [3 4 2 2 0] [..] — second window has a tie of 2s: first one wins.
    const x = t([1, 9, 2, 2, 0, 3, 4, 2, 2, 0, 7, 7, 7, 7, 7], [1, 1, 3, 5]);
    expect(Array.from(pool.forward(x, true).data)).toEqual([9, 2]);
    const dx = pool.backward(t([10, 20], [1, 1, 1, 2]))!;
    expect(Array.from(dx.data)).toEqual([0, 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('flatten keeps C, H, W order without copying', () => {
    const flat = new Flatten([2, 1, 2]);
    const x = t([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 1, 2]);
    const y = flat.forward(x, false);
    expect(y.shape).toEqual([2, 4]);
    expect(y.data).toBe(x.data);
    expect(flat.backward(y)!.shape).toEqual([2, 2, 1, 2]);
  });

  it('dense computes x·Wᵀ + b with weight [out, in] and its gradients', () => {
    const dense = new Dense([3], 2);
    dense.weight.set([1, 2, 3, 4, 5, 6]);
    dense.bias.set([0.5, -1]);
    const y = dense.forward(t([1, 1, 1, 2, 0, -1], [2, 3]), true);
    expect(Array.from(y.data)).toEqual([6.5, 14, -0.5, 1]);
    const dx = dense.backward(t([1, 0, 0, 1], [2, 2]))!;
    expect(Array.from(dense.weightGrad)).toEqual([1, 1, 1, 2, 0, -1]);
    expect(Array.from(dense.biasGrad)).toEqual([1, 1]);
    expect(Array.from(dx.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('softmax cross-entropy', () => {
  it('gives −log p of the label, averaged, and (p − onehot)/N', () => {
    const ce = new SoftmaxCrossEntropy(3);
    const logits = t([0, 0, 0, Math.log(2), 0, 0], [2, 3]);
    const stats = { correct: 0 };
    const loss = ce.forward(logits, [1, 0], stats);
    expect(loss).toBeCloseTo((Math.log(3) + Math.log(4 / 2)) / 2, 6);
    expect(stats.correct).toBe(1); // row 1 predicts 0, its label; row 0 ties → class 0, label 1
    const g = Array.from(ce.backward().data);
    const expected = [1 / 3 / 2, (1 / 3 - 1) / 2, 1 / 3 / 2, (0.5 - 1) / 2, 0.25 / 2, 0.25 / 2];
    g.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('with label smoothing ε gives the loss and gradient PyTorch gives (target (1 − ε)·onehot + ε/K)', () => {
    // torch.nn.functional.cross_entropy([[ln 2, 0, 0]], [0], label_smoothing=0.3) = 0.8317766 = 1.2·ln 2,
    // and its gradient p − q = [0.5, 0.25, 0.25] − [0.8, 0.1, 0.1] (PyTorch 1.13).
    const ce = new SoftmaxCrossEntropy(3, 0.3);
    const loss = ce.forward(t([Math.log(2), 0, 0], [1, 3]), [0]);
    expect(loss).toBeCloseTo(0.8317766, 6);
    const g = Array.from(ce.backward().data);
    [-0.3, 0.15, 0.15].forEach((v, i) => expect(g[i]).toBeCloseTo(v, 6));
    expect(() => new SoftmaxCrossEntropy(3, 1)).toThrow(/label smoothing/);
  });

  it('is numerically stable for huge logits', () => {
    const ce = new SoftmaxCrossEntropy(2);
    const loss = ce.forward(t([1000, 0, -1000, 1000], [2, 2]), [0, 0]);
    expect(loss).toBeCloseTo(1000, 3);
    expect(Array.from(ce.backward().data).every(Number.isFinite)).toBe(true);
    const p = ce.softmax(t([1e4, 1e4 - Math.log(3)], [1, 2])).data;
    expect(p[0]).toBeCloseTo(0.75, 4); // float32 logits near 1e4 are 0.001 apart
  });
});

describe('dropout', () => {
  it('zeroes about `rate` of the values while training, scales survivors, and is identity when predicting', () => {
    const drop = new Dropout([1000], 0.3, new BatchContext(), 0);
    const x = t(new Array(1000).fill(1), [1, 1000]);
    const y = drop.forward(x, true).data;
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(250);
    expect(zeros).toBeLessThan(350);
    y.filter((v) => v !== 0).forEach((v) => expect(v).toBeCloseTo(1 / 0.7, 6));
    const dx = drop.backward(x)!.data;
    for (let i = 0; i < 1000; i++) expect(dx[i]).toBe(y[i]);
    expect(drop.forward(x, false)).toBe(x);
  });
});
