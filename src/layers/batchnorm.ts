import { allocF32 } from '../kernels/memory.js';
import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import type { LayerKind } from './kind.js';
import { param, type BatchReduce, type Layer, type LayerBuffer, type Param } from './layer.js';

/** `bn`: batch normalization over channels (after a conv) or features (after a dense layer). */
export interface BatchNormSpec {
  type: 'batchnorm';
  eps: number;
  momentum: number;
}

/** PyTorch's defaults. */
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/**
 * Batch normalization as PyTorch defines it (BatchNorm2d after a conv: per channel over
 * N·H·W values; BatchNorm1d after a dense layer: per feature over N), with a learnable
 * scale γ (`weight`) and shift β (`bias`):
 *
 *   training:    μ, σ² = mean and (biased) variance of the batch,  x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β
 *                running_mean ← (1 − m)·running_mean + m·μ,  running_var ← (1 − m)·running_var + m·σ²·M/(M − 1)
 *   predicting:  the same with running_mean and running_var in place of μ and σ²
 *
 * with M = N·H·W values per channel. Backward (training), with sums over those M values:
 *
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ/√(σ² + ε) · (dy − Σdy/M − x̂·Σ(dy·x̂)/M)
 *
 * Sums are taken in float64, the variance by two passes (mean first), and both forward
 * sums and backward sums go through `BatchReduce` when threads share a batch, so every
 * thread normalizes by the whole batch's statistics (see train/thread-sync.ts). Either
 * way y = x·a + b with per-channel a = γ/√(σ² + ε), b = β − μ·a.
 */
export class BatchNorm implements Layer {
  readonly type = 'batchnorm';
  readonly spec: BatchNormSpec;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  /** Channels (after a conv) or features (after a dense layer). */
  readonly features: number;
  /** Values per channel per image: H·W, or 1 on a flat input. */
  private readonly plane: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  /** [count, mean_0..C−1, M2_0..C−1] forward; [Σdy_0..C−1, Σ(dy·x̂)_0..C−1] backward. */
  readonly reduceLength: number;
  private reduce: BatchReduce | null = null;
  private readonly partial: Float64Array;
  private readonly alone: readonly Float64Array[];
  /** The last training batch's statistics (the whole batch's, across threads). */
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private count = 0;
  /** y = x·a + b per channel, for the last forward. */
  private readonly a: Float32Array;
  private readonly b: Float32Array;
  private input: Tensor | null = null;
  private usedBatchStats = false;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;

  constructor(inShape: readonly number[], opts: Partial<Omit<BatchNormSpec, 'type'>> = {}) {
    this.spec = { type: 'batchnorm', eps: opts.eps ?? BN_EPS, momentum: opts.momentum ?? BN_MOMENTUM };
    this.inShape = inShape;
    this.outShape = inShape;
    const C = (this.features = inShape[0]);
    this.plane = inShape.length === 3 ? inShape[1] * inShape[2] : 1;
    this.weight = allocF32(C).fill(1);
    this.bias = allocF32(C);
    this.weightGrad = allocF32(C);
    this.biasGrad = allocF32(C);
    this.runningMean = allocF32(C);
    this.runningVar = allocF32(C).fill(1);
    this.reduceLength = 2 * C + 1;
    this.partial = new Float64Array(this.reduceLength);
    this.alone = [this.partial];
    this.mean = new Float64Array(C);
    this.invStd = new Float64Array(C);
    this.a = new Float32Array(C);
    this.b = new Float32Array(C);
    this.out = new BatchBuffer(inShape);
    this.inGrad = new BatchBuffer(inShape);
  }

  get eps(): number {
    return this.spec.eps;
  }

  get momentum(): number {
    return this.spec.momentum;
  }

  params(): Param[] {
    const C = this.features;
    return [param('weight', [C], this.weight, this.weightGrad, 'ones'), param('bias', [C], this.bias, this.biasGrad, 'zeros')];
  }

  buffers(): LayerBuffer[] {
    const C = this.features;
    return [{ name: 'runningMean', shape: [C], value: this.runningMean }, { name: 'runningVar', shape: [C], value: this.runningVar, min: 0 }];
  }

  setBatchReduce(reduce: BatchReduce | null): void {
    this.reduce = reduce;
  }

  private gather(length: number): readonly Float64Array[] {
    return this.reduce ? this.reduce.gather(this.partial, length) : this.alone;
  }

  forward(x: Tensor, training: boolean): Tensor {
    const n = x.shape[0];
    const C = this.features;
    const S = this.plane;
    const xd = x.data;
    this.input = x;
    this.usedBatchStats = training;
    if (training) {
      // This thread's count, mean and sum of squared deviations per channel (two passes).
      const part = this.partial;
      const local = n * S;
      part[0] = local;
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += sumOf(xd, (i * C + c) * S, S);
        const m = sum / local;
        let m2 = 0;
        for (let i = 0; i < n; i++) m2 += squaredDeviations(xd, (i * C + c) * S, S, m);
        part[1 + c] = m;
        part[1 + C + c] = m2;
      }
      // The whole batch: merge the threads' moments in thread order (Chan et al.), the same on every thread.
      const parts = this.gather(2 * C + 1);
      const { eps, momentum } = this.spec;
      let total = 0;
      for (let c = 0; c < C; c++) {
        let N = 0;
        let mean = 0;
        let M2 = 0;
        for (const q of parts) {
          const nb = q[0];
          if (nb === 0) continue;
          if (N === 0) {
            mean = q[1 + c];
            M2 = q[1 + C + c];
          } else {
            const tot = N + nb;
            const delta = q[1 + c] - mean;
            mean += (delta * nb) / tot;
            M2 += q[1 + C + c] + (delta * delta * N * nb) / tot;
          }
          N += nb;
        }
        total = N;
        const inv = 1 / Math.sqrt(M2 / N + eps);
        this.mean[c] = mean;
        this.invStd[c] = inv;
        // PyTorch's running statistics, unbiased variance. One value per channel has no
        // variance: such a batch (PyTorch refuses it) leaves them as they were.
        if (N > 1) {
          this.runningMean[c] = (1 - momentum) * this.runningMean[c] + momentum * mean;
          this.runningVar[c] = (1 - momentum) * this.runningVar[c] + momentum * (M2 / (N - 1));
        }
        const a = this.weight[c] * inv;
        this.a[c] = a;
        this.b[c] = this.bias[c] - mean * a;
      }
      this.count = total;
    } else {
      for (let c = 0; c < C; c++) {
        const a = this.weight[c] / Math.sqrt(this.runningVar[c] + this.spec.eps);
        this.a[c] = a;
        this.b[c] = this.bias[c] - this.runningMean[c] * a;
      }
    }
    const y = this.out.get(n);
    const yd = y.data;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        const a = this.a[c];
        const b = this.b[c];
        for (let j = (i * C + c) * S, end = j + S; j < end; j++) yd[j] = xd[j] * a + b;
      }
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const C = this.features;
    const S = this.plane;
    const g = dy.data;
    const xd = this.input!.data;
    if (!this.usedBatchStats) return this.backwardFixed(dy);
    // This thread's Σdy and Σdy·x̂: its share of dβ and dγ, and its partial for dx.
    const part = this.partial;
    for (let c = 0; c < C; c++) {
      const mean = this.mean[c];
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < n; i++) {
        sdy += sumOf(g, (i * C + c) * S, S);
        sdyx += productsOfDeviations(g, xd, (i * C + c) * S, S, mean);
      }
      sdyx *= this.invStd[c];
      part[c] = sdy;
      part[C + c] = sdyx;
      this.biasGrad[c] = sdy;
      this.weightGrad[c] = sdyx;
    }
    if (!this.needsInputGrad) return null;
    const parts = this.gather(2 * C);
    const dx = this.inGrad.get(n);
    const d = dx.data;
    const M = this.count;
    for (let c = 0; c < C; c++) {
      let sdy = 0;
      let sdyx = 0;
      for (const q of parts) {
        sdy += q[c];
        sdyx += q[C + c];
      }
      // dx = k·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) with x̂ = (x − μ)·inv, k = γ·inv, as p·dy + q·x + r.
      const inv = this.invStd[c];
      const k = this.weight[c] * inv;
      const p = k;
      const q = -k * inv * (sdyx / M);
      const r = -k * (sdy / M) - q * this.mean[c];
      for (let i = 0; i < n; i++) {
        for (let j = (i * C + c) * S, end = j + S; j < end; j++) d[j] = p * g[j] + q * xd[j] + r;
      }
    }
    return dx;
  }

  /** After a forward with running statistics, the normalization is a fixed affine map: dx = a·dy. */
  private backwardFixed(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const C = this.features;
    const S = this.plane;
    const g = dy.data;
    const xd = this.input!.data;
    for (let c = 0; c < C; c++) {
      const inv = 1 / Math.sqrt(this.runningVar[c] + this.spec.eps);
      const mean = this.runningMean[c];
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < n; i++) {
        for (let j = (i * C + c) * S, end = j + S; j < end; j++) {
          sdy += g[j];
          sdyx += g[j] * (xd[j] - mean) * inv;
        }
      }
      this.biasGrad[c] = sdy;
      this.weightGrad[c] = sdyx;
    }
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        const a = this.a[c];
        for (let j = (i * C + c) * S, end = j + S; j < end; j++) dx.data[j] = g[j] * a;
      }
    }
    return dx;
  }
}

// The sums below are over one channel's plane of one image, in float64. Four partial sums
// each: a single running sum waits on every add before the next (the loop runs at the
// add's latency); four independent ones keep the adder busy (~8× faster here).

/** Σ a[o .. o+n). */
function sumOf(a: Float32Array, o: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = o;
  const end = o + n;
  for (; j + 4 <= end; j += 4) {
    s0 += a[j];
    s1 += a[j + 1];
    s2 += a[j + 2];
    s3 += a[j + 3];
  }
  for (; j < end; j++) s0 += a[j];
  return s0 + s1 + s2 + s3;
}

/** Σ (a − m)² over a[o .. o+n). */
function squaredDeviations(a: Float32Array, o: number, n: number, m: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = o;
  const end = o + n;
  for (; j + 4 <= end; j += 4) {
    const d0 = a[j] - m, d1 = a[j + 1] - m, d2 = a[j + 2] - m, d3 = a[j + 3] - m;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; j < end; j++) s0 += (a[j] - m) * (a[j] - m);
  return s0 + s1 + s2 + s3;
}

/** Σ g·(x − m) over [o .. o+n). */
function productsOfDeviations(g: Float32Array, x: Float32Array, o: number, n: number, m: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = o;
  const end = o + n;
  for (; j + 4 <= end; j += 4) {
    s0 += g[j] * (x[j] - m);
    s1 += g[j + 1] * (x[j + 1] - m);
    s2 += g[j + 2] * (x[j + 2] - m);
    s3 += g[j + 3] * (x[j + 3] - m);
  }
  for (; j < end; j++) s0 += g[j] * (x[j] - m);
  return s0 + s1 + s2 + s3;
}

export const batchnorm: LayerKind<BatchNormSpec, BatchNorm> = {
  type: 'batchnorm',
  token: { pattern: /^bn$/, help: 'bn (batch normalization)' },
  parse: () => ({ type: 'batchnorm', eps: BN_EPS, momentum: BN_MOMENTUM }),
  format: () => 'bn',
  check(s) {
    if (!(s.eps > 0 && s.eps <= 1)) return 'eps must be a number above 0, at most 1';
    if (!(s.momentum >= 0 && s.momentum <= 1)) return 'momentum must be a number from 0 to 1';
    return null;
  },
  takes: 'any',
  outShape: (_s, inShape) => inShape,
  // γ and β are PyTorch's parameters; the running statistics are buffers, not counted.
  // Predicting, it is one multiply-add per value.
  cost: (_s, inShape) => ({ params: 2 * inShape[0], macs: sizeOf(inShape), workspace: 2 * sizeOf(inShape) }),
  create: (s, inShape) => new BatchNorm(inShape, s),
  toJSON: (l) => ({ features: l.features, eps: l.eps, momentum: l.momentum }),
  fromJSON(r, inShape) {
    const features = r.int('features', 1);
    const spec: BatchNormSpec = {
      type: 'batchnorm',
      eps: r.number('eps', (v) => v > 0 && v <= 1, 'a number above 0, at most 1'),
      momentum: r.number('momentum', (v) => v >= 0 && v <= 1, 'a number from 0 to 1'),
    };
    if (features !== inShape[0]) r.fail(`features is ${features} but the layer before gives ${inShape[0]} ${inShape.length === 3 ? 'channels' : 'values'}`);
    return spec;
  },
  version: () => 2,
  onnx(l, g) {
    // Works on [N, C, H, W] and on [N, C] alike (statistics per C).
    const C = l.features;
    g.node('BatchNormalization', [
      g.input,
      g.constant('weight', [C], l.weight),
      g.constant('bias', [C], l.bias),
      g.constant('runningMean', [C], l.runningMean),
      g.constant('runningVar', [C], l.runningVar),
    ], { epsilon: { float: l.eps } });
  },
  mapLabel: 'bn',
};
