/**
 * Batch normalization, average pooling and global average pooling against plain
 * references and hand-computed values; their gradient checks catch planted bugs.
 */
import { describe, expect, it } from 'vitest';
import { batchNormChecks, GRAD_TOLERANCE } from '../../src/check/checks.js';
import { gradCheckLayer } from '../../src/check/gradcheck.js';
import { AvgPool2d } from '../../src/layers/avgpool2d.js';
import { BatchNorm } from '../../src/layers/batchnorm.js';
import { GlobalAvgPool } from '../../src/layers/globalavgpool.js';
import { Random } from '../../src/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const t = (values: number[], shape: number[]): Tensor => ({ data: Float32Array.from(values), shape });
const worst = (results: { error: number }[]) => Math.max(...results.map((r) => r.error));

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): Tensor {
  const random = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => shift + scale * random.normal()), shape };
}

/** PyTorch's BatchNorm2d in training mode, in float64, the slow way. */
function batchNormReference(x: Tensor, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps = 1e-5): Float64Array {
  const [n, C] = x.shape;
  const S = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1;
  const y = new Float64Array(x.data.length);
  for (let c = 0; c < C; c++) {
    const values: number[] = [];
    for (let i = 0; i < n; i++) for (let s = 0; s < S; s++) values.push(x.data[(i * C + c) * S + s]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    for (let i = 0; i < n; i++) for (let s = 0; s < S; s++) {
      const j = (i * C + c) * S + s;
      y[j] = (gamma[c] * (x.data[j] - mean)) / Math.sqrt(variance + eps) + beta[c];
    }
  }
  return y;
}

describe('batch normalization', () => {
  it('2d, training: (x − μ)/√(σ² + ε)·γ + β per channel over N·H·W, as the reference', () => {
    const bn = new BatchNorm([3, 4, 5]);
    bn.weight.set([0.5, 2, -1]);
    bn.bias.set([0, 1, -3]);
    const x = randomTensor([4, 3, 4, 5], 1, 3, 2);
    const y = bn.forward(x, true).data;
    const ref = batchNormReference(x, bn.weight, bn.bias);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-5);
  });

  it('1d, training: per feature over the batch, as the reference', () => {
    const bn = new BatchNorm([7]);
    bn.weight.set([1, 2, 3, 4, 5, 6, 7]);
    const x = randomTensor([9, 7], 2, 5, -4);
    const y = bn.forward(x, true).data;
    const ref = batchNormReference(x, bn.weight, bn.bias);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - ref[i])).toBeLessThan(1e-5);
  });

  it('updates running statistics as PyTorch: momentum 0.1, unbiased variance (values worked by hand)', () => {
    const bn = new BatchNorm([1]);
    expect([bn.runningMean[0], bn.runningVar[0]]).toEqual([0, 1]);
    // x = 1, 2, 3, 4: μ = 2.5, unbiased variance 5/3 → mean 0.9·0 + 0.1·2.5, var 0.9·1 + 0.1·5/3.
    bn.forward(t([1, 2, 3, 4], [4, 1]), true);
    expect(bn.runningMean[0]).toBeCloseTo(0.25, 6);
    expect(bn.runningVar[0]).toBeCloseTo(0.9 + 1 / 6, 6);
    // x = 0, 0, 0, 4: μ = 1, unbiased variance (1 + 1 + 1 + 9)/3 = 4 → 0.9·0.25 + 0.1, 0.9·1.0666667 + 0.4.
    bn.forward(t([0, 0, 0, 4], [4, 1]), true);
    expect(bn.runningMean[0]).toBeCloseTo(0.325, 6);
    expect(bn.runningVar[0]).toBeCloseTo(1.36, 6);
    // 2d: M = N·H·W values per channel (here 2 images of 1×2: 4 values).
    const bn2 = new BatchNorm([1, 1, 2]);
    bn2.forward(t([1, 2, 3, 4], [2, 1, 1, 2]), true);
    expect(bn2.runningVar[0]).toBeCloseTo(0.9 + 1 / 6, 6);
  });

  it('predicting uses the running statistics and leaves them alone; one value per channel leaves them alone too', () => {
    const bn = new BatchNorm([2]);
    bn.weight.set([2, 1]);
    bn.bias.set([0.5, 0]);
    bn.runningMean.set([1, -2]);
    bn.runningVar.set([4, 0.25]);
    const y = bn.forward(t([3, 0, 1, -2], [2, 2]), false).data;
    const expected = [(2 * (3 - 1)) / Math.sqrt(4 + 1e-5) + 0.5, (0 + 2) / Math.sqrt(0.25 + 1e-5), 0.5, 0];
    y.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(Array.from(bn.runningMean)).toEqual([1, -2]);
    bn.forward(t([3, 0], [1, 2]), true); // a batch of one: no variance to learn from
    expect(Array.from(bn.runningVar)).toEqual([4, 0.25]);
  });

  it('backward after predicting is the fixed affine map\'s: dx = a·dy, dβ = Σdy, dγ = Σdy·(x − μ)/√(σ² + ε)', () => {
    const bn = new BatchNorm([2, 1, 3]);
    bn.weight.set([2, -1]);
    bn.runningMean.set([1, -2]);
    bn.runningVar.set([4, 0.25]);
    const x = randomTensor([2, 2, 1, 3], 3, 2);
    const dy = randomTensor([2, 2, 1, 3], 4);
    bn.forward(x, false);
    const dx = bn.backward(dy)!.data;
    for (let c = 0; c < 2; c++) {
      const inv = 1 / Math.sqrt(bn.runningVar[c] + 1e-5);
      let db = 0;
      let dg = 0;
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          const at = (i * 2 + c) * 3 + j;
          db += dy.data[at];
          dg += dy.data[at] * (x.data[at] - bn.runningMean[c]) * inv;
          expect(dx[at]).toBeCloseTo(bn.weight[c] * inv * dy.data[at], 5);
        }
      }
      expect(bn.biasGrad[c]).toBeCloseTo(db, 5);
      expect(bn.weightGrad[c]).toBeCloseTo(dg, 5);
    }
  });

  it('kconv check\'s own check: a training batch comes out with mean 0 and variance 1 per channel', () => {
    for (const row of batchNormChecks()) expect(row.pass, row.name).toBe(true);
  });

  it('passes the gradient check (input, γ, β) in both forms', () => {
    expect(worst(gradCheckLayer(new BatchNorm([3, 4, 5]), { batch: 3 }))).toBeLessThan(GRAD_TOLERANCE / 2);
    expect(worst(gradCheckLayer(new BatchNorm([6]), { batch: 8 }))).toBeLessThan(GRAD_TOLERANCE / 2);
  });

  it('the gradient check catches a backward that treats the batch statistics as constants (a classic bug)', () => {
    /** dx = γ/√(σ² + ε)·dy, forgetting that μ and σ² depend on x. */
    class ConstantStatsBatchNorm extends BatchNorm {
      private x: Tensor | null = null;
      override forward(x: Tensor, training: boolean): Tensor {
        this.x = x;
        return super.forward(x, training);
      }
      override backward(dy: Tensor): Tensor | null {
        const dx = super.backward(dy)!;
        const [n, C] = dy.shape;
        const S = dy.data.length / (n * C);
        for (let c = 0; c < C; c++) {
          let sum = 0;
          let sq = 0;
          for (let i = 0; i < n; i++) for (let s = 0; s < S; s++) sum += this.x!.data[(i * C + c) * S + s];
          const mean = sum / (n * S);
          for (let i = 0; i < n; i++) for (let s = 0; s < S; s++) sq += (this.x!.data[(i * C + c) * S + s] - mean) ** 2;
          const k = this.weight[c] / Math.sqrt(sq / (n * S) + 1e-5);
          for (let i = 0; i < n; i++) for (let s = 0; s < S; s++) dx.data[(i * C + c) * S + s] = k * dy.data[(i * C + c) * S + s];
        }
        return dx;
      }
    }
    const r = gradCheckLayer(new ConstantStatsBatchNorm([3, 4, 5]), { batch: 3 });
    expect(r.find((x) => x.of === 'input')!.error).toBeGreaterThan(GRAD_TOLERANCE * 10);
    expect(r.find((x) => x.of === 'weight')!.error).toBeLessThan(GRAD_TOLERANCE);
  });

  it('the gradient check catches a γ gradient 1% too large', () => {
    class ScaledGammaBatchNorm extends BatchNorm {
      override backward(dy: Tensor): Tensor | null {
        const dx = super.backward(dy);
        for (let c = 0; c < this.features; c++) this.weightGrad[c] *= 1.01;
        return dx;
      }
    }
    const r = gradCheckLayer(new ScaledGammaBatchNorm([6]), { batch: 8 });
    expect(r.find((x) => x.of === 'weight')!.error).toBeGreaterThan(GRAD_TOLERANCE * 5);
  });
});

describe('average pooling', () => {
  it('avgpool2d: window means, floor of the size, and the gradient spread evenly (overlaps add)', () => {
    const pool = new AvgPool2d([1, 4, 5], 2);
    expect(pool.outShape).toEqual([1, 2, 2]);
    const x = t(Array.from({ length: 20 }, (_, i) => i), [1, 1, 4, 5]);
    // windows: {0,1,5,6} {2,3,7,8} {10,11,15,16} {12,13,17,18}; column 4 is left out (floor).
    expect(Array.from(pool.forward(x, true).data)).toEqual([3, 5, 13, 15]);
    const dx = pool.backward(t([4, 8, 12, 16], [1, 1, 2, 2]))!.data;
    expect(Array.from(dx)).toEqual([1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 3, 4, 4, 0, 3, 3, 4, 4, 0]);
    const overlap = new AvgPool2d([1, 3, 3], 2, 1);
    expect(Array.from(overlap.forward(t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), true).data)).toEqual([3, 4, 6, 7]);
    expect(Array.from(overlap.backward(t([4, 4, 4, 4], [1, 1, 2, 2]))!.data)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
  });

  it('gap: each channel\'s mean, C×H×W → C; the gradient spread over the map', () => {
    const gap = new GlobalAvgPool([2, 2, 3]);
    expect(gap.outShape).toEqual([2]);
    const y = gap.forward(t([1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12, 6, 6, 6, 6, 6, 6, -1, -2, -3, 1, 2, 3], [2, 2, 2, 3]), true);
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.data)).toEqual([3.5, 2, 6, 0]);
    const dx = gap.backward(t([6, 12, 0, -6], [2, 2]))!;
    expect(dx.shape).toEqual([2, 2, 2, 3]);
    expect(Array.from(dx.data)).toEqual([...Array(6).fill(1), ...Array(6).fill(2), ...Array(6).fill(0), ...Array(6).fill(-1)]);
  });

  it('both pass the gradient check; a pool that forgets the 1/k² fails it', () => {
    expect(worst(gradCheckLayer(new AvgPool2d([2, 6, 7], 2)))).toBeLessThan(GRAD_TOLERANCE / 2);
    expect(worst(gradCheckLayer(new AvgPool2d([2, 7, 7], 3, 2)))).toBeLessThan(GRAD_TOLERANCE / 2);
    expect(worst(gradCheckLayer(new GlobalAvgPool([3, 5, 4])))).toBeLessThan(GRAD_TOLERANCE / 2);
    class SumPoolGrad extends AvgPool2d {
      override backward(dy: Tensor): Tensor | null {
        const dx = super.backward(dy)!;
        for (let i = 0; i < dx.data.length; i++) dx.data[i] *= this.size * this.size;
        return dx;
      }
    }
    expect(worst(gradCheckLayer(new SumPoolGrad([2, 6, 7], 2)))).toBeGreaterThan(0.5);
  });
});
