import { channelLinear, planeDots } from '../kernels/elementwise.js';
import { allocF32, allocF64 } from '../kernels/memory.js';
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
 * The passes over the data are kernels (src/kernels/elementwise.ts, WebAssembly SIMD): one
 * gives each plane's Σx and Σx² (forward) or Σdy and Σdy·x (backward) in float64, the
 * other the per-channel linear maps y = x·a + b, a = γ/√(σ² + ε), b = β − μ·a, and
 * dx = p·dy + q·x + r. Planes sum into a channel's mean and squared deviations in
 * float64, and threads' parts merge by Chan et al.'s update (mergeMoments): forward and
 * backward sums go through `BatchReduce` when threads share a batch, so every thread
 * normalizes by the whole batch's statistics (see parallel/thread-sync.ts).
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
  /** The last training batch's statistics (the whole batch's, across threads): μ, M2 = Σ(x − μ)², 1/√(σ² + ε). */
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly invStd: Float64Array;
  private count = 0;
  /** y = x·a + b per channel, for the last forward. */
  private readonly a: Float32Array;
  private readonly b: Float32Array;
  /** dx = p·dy + q·x + r per channel (backward); `zeros` is q for the forward map. */
  private readonly p: Float32Array;
  private readonly q: Float32Array;
  private readonly r: Float32Array;
  private readonly zeros: Float32Array;
  /** Per plane [Σa, Σa·b] from the kernel; grows with the batch. */
  private sums: Float64Array = allocF64(0);
  /** The same summed per channel over the batch's planes (see channelSums). */
  private readonly sumA: Float64Array;
  private readonly sumAB: Float64Array;
  /** 1/√(running_var + ε), for backward after a forward with running statistics. */
  private readonly fixedInv: Float64Array;
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
    this.m2 = new Float64Array(C);
    this.invStd = new Float64Array(C);
    this.a = allocF32(C);
    this.b = allocF32(C);
    this.p = allocF32(C);
    this.q = allocF32(C);
    this.r = allocF32(C);
    this.zeros = allocF32(C);
    this.sumA = new Float64Array(C);
    this.sumAB = new Float64Array(C);
    this.fixedInv = new Float64Array(C);
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
    this.input = x;
    this.usedBatchStats = training;
    if (training) this.batchStatistics(x.data, n);
    else this.runningStatistics();
    // y = x·a + b per channel.
    const y = this.out.get(n);
    channelLinear(x.data, x.data, y.data, n * this.features, this.features, this.plane, this.a, this.zeros, this.b);
    return y;
  }

  /**
   * Training: normalizes by the whole batch's μ and σ² (all threads'), y = x·a + b with
   * a = γ/√(σ² + ε), b = β − μ·a, and moves the running statistics towards them.
   */
  private batchStatistics(xd: Float32Array, n: number): void {
    const C = this.features;
    const { eps, momentum } = this.spec;
    this.threadMoments(xd, n);
    const N = mergeMoments(this.gather(2 * C + 1), C, this.mean, this.m2);
    for (let c = 0; c < C; c++) {
      const mean = this.mean[c];
      const M2 = this.m2[c];
      const inv = 1 / Math.sqrt(M2 / N + eps);
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
    this.count = N;
  }

  /**
   * This thread's part of the batch's moments, [count, mean_0..C−1, M2_0..C−1], from each
   * plane's Σx and Σx² (float64 from float32 values: Σx² − Σx·mean loses nothing that
   * matters unless |mean| exceeds the spread a millionfold).
   */
  private threadMoments(xd: Float32Array, n: number): void {
    const C = this.features;
    const part = this.partial;
    const local = n * this.plane;
    part[0] = local;
    this.channelSums(xd, xd, n);
    for (let c = 0; c < C; c++) {
      const m = this.sumA[c] / local;
      part[1 + c] = m;
      part[1 + C + c] = Math.max(0, this.sumAB[c] - this.sumA[c] * m);
    }
  }

  /** Predicting: the running statistics in place of the batch's, a = γ/√(running_var + ε), b = β − running_mean·a. */
  private runningStatistics(): void {
    for (let c = 0; c < this.features; c++) {
      const a = this.weight[c] / Math.sqrt(this.runningVar[c] + this.spec.eps);
      this.a[c] = a;
      this.b[c] = this.bias[c] - this.runningMean[c] * a;
    }
  }

  /** Per channel over n images (C planes of S values each): sumA = Σa, sumAB = Σa·b, in float64. */
  private channelSums(a: Float32Array, b: Float32Array, n: number): void {
    const C = this.features;
    const planes = n * C;
    if (this.sums.length < 2 * planes) this.sums = allocF64(2 * planes);
    planeDots(a, 0, b, 0, planes, this.plane, this.sums);
    for (let c = 0; c < C; c++) {
      let sa = 0;
      let sab = 0;
      for (let k = c; k < planes; k += C) {
        sa += this.sums[2 * k];
        sab += this.sums[2 * k + 1];
      }
      this.sumA[c] = sa;
      this.sumAB[c] = sab;
    }
  }

  /**
   * dβ = Σdy and dγ = Σdy·x̂ = (Σdy·x − μ·Σdy)·inv per channel, for the given μ and inv;
   * leaves them in float64 in sumA and sumAB too (a thread's partial for dx).
   */
  private paramGrads(g: Float32Array, x: Float32Array, n: number, mean: ArrayLike<number>, inv: ArrayLike<number>): void {
    this.channelSums(g, x, n);
    for (let c = 0; c < this.features; c++) {
      this.sumAB[c] = (this.sumAB[c] - mean[c] * this.sumA[c]) * inv[c];
      this.biasGrad[c] = this.sumA[c];
      this.weightGrad[c] = this.sumAB[c];
    }
  }

  backward(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const C = this.features;
    const S = this.plane;
    const g = dy.data;
    const xd = this.input!.data;
    if (!this.usedBatchStats) return this.backwardFixed(dy);
    // This thread's Σdy and Σdy·x̂: its share of dβ and dγ, and its partial for dx.
    this.paramGrads(g, xd, n, this.mean, this.invStd);
    this.partial.set(this.sumA, 0);
    this.partial.set(this.sumAB, C);
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
      const q = -k * inv * (sdyx / M);
      this.p[c] = k;
      this.q[c] = q;
      this.r[c] = -k * (sdy / M) - q * this.mean[c];
    }
    channelLinear(g, xd, d, n * C, C, S, this.p, this.q, this.r);
    return dx;
  }

  /** After a forward with running statistics, the normalization is a fixed affine map: dx = a·dy. */
  private backwardFixed(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const C = this.features;
    const g = dy.data;
    for (let c = 0; c < C; c++) this.fixedInv[c] = 1 / Math.sqrt(this.runningVar[c] + this.spec.eps);
    this.paramGrads(g, this.input!.data, n, this.runningMean, this.fixedInv);
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(n);
    channelLinear(g, g, dx.data, n * C, C, this.plane, this.a, this.zeros, this.zeros);
    return dx;
  }
}

/**
 * The whole batch's moments per channel from the threads' parts [count, mean_0..C−1,
 * M2_0..C−1] (M2 the sum of squared deviations from the part's mean), merged one part at
 * a time in the order given (Chan, Golub & LeVeque's pairwise update):
 *
 *   n = n_a + n_b,   δ = mean_b − mean_a,   mean = mean_a + δ·n_b / n,   M2 = M2_a + M2_b + δ²·n_a·n_b / n
 *
 * Parts of no values are skipped. Writes each channel's mean and M2 (float64, so the sum
 * of squares never cancels as Σx² − n·mean² would) and returns the count. Every thread
 * merges the same parts in the same order, so every thread gets the same bits.
 */
export function mergeMoments(parts: readonly Float64Array[], channels: number, mean: Float64Array, m2: Float64Array): number {
  let count = 0;
  for (let c = 0; c < channels; c++) {
    let N = 0;
    let mu = 0;
    let M2 = 0;
    for (const q of parts) {
      const nb = q[0];
      if (nb === 0) continue;
      if (N === 0) {
        mu = q[1 + c];
        M2 = q[1 + channels + c];
      } else {
        const tot = N + nb;
        const delta = q[1 + c] - mu;
        mu += (delta * nb) / tot;
        M2 += q[1 + channels + c] + (delta * delta * N * nb) / tot;
      }
      N += nb;
    }
    mean[c] = mu;
    m2[c] = M2;
    count = N;
  }
  return count;
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
