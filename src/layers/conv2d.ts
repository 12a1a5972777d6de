import { gemm } from '../kernels/gemm.js';
import { col2im, im2col } from '../kernels/im2col.js';
import { allocF32 } from '../kernels/memory.js';
import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import { param, type Layer, type Param } from './layer.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  padding?: number;
}

/** The article's output size: floor((H + 2p − k) / s) + 1. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/**
 * 2-D convolution (cross-correlation, as in every deep-learning library) with square
 * kernels, stride and zero padding. Weight layout [out, in, k, k] as PyTorch's Conv2d.
 *
 * Two forward paths: `forwardNaive`, the article's loops, is the reference; `forward`
 * lays every patch of the batch out as a column (im2col) and multiplies once by the
 * filters (GEMM). Backward goes through the same matrices: dW = dY·colsᵀ,
 * dcols = Wᵀ·dY, and col2im folds dcols back onto the image.
 */
export class Conv2d implements Layer {
  readonly type = 'conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;

  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;

  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** Patch matrix [C·k·k, N·OH·OW], kept from forward for the weight gradient. */
  private cols: Float32Array = allocF32(0);
  /** GEMM result / gradient in filter-major order [F, N·OH·OW]. */
  private fmajor: Float32Array = allocF32(0);
  private dcols: Float32Array = allocF32(0);
  private capacity = 0;
  private input: Tensor | null = null;

  constructor(inShape: readonly number[], opts: Conv2dOptions) {
    const [c, h, w] = inShape;
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.kernel = opts.kernel;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    if (c !== this.inChannels) throw new RangeError(`conv2d expects ${this.inChannels} input channels, got ${c}`);
    this.inShape = [c, h, w];
    this.outShape = [
      this.outChannels,
      convOutputSize(h, this.kernel, this.stride, this.padding),
      convOutputSize(w, this.kernel, this.stride, this.padding),
    ];
    const wsize = this.outChannels * this.inChannels * this.kernel * this.kernel;
    this.weight = allocF32(wsize);
    this.weightGrad = allocF32(wsize);
    this.bias = allocF32(this.outChannels);
    this.biasGrad = allocF32(this.outChannels);
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(this.inShape);
  }

  params(): Param[] {
    const k = this.kernel;
    return [
      param('weight', [this.outChannels, this.inChannels, k, k], this.weight, this.weightGrad),
      param('bias', [this.outChannels], this.bias, this.biasGrad),
    ];
  }

  /** Rows of the patch matrix: one per weight of a filter. */
  private get patchSize(): number {
    return this.inChannels * this.kernel * this.kernel;
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const positions = n * this.outShape[1] * this.outShape[2];
    this.cols = allocF32(this.patchSize * positions);
    this.fmajor = allocF32(this.outChannels * positions);
    if (this.needsInputGrad) this.dcols = allocF32(this.patchSize * positions);
    this.capacity = n;
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    this.ensureCapacity(n);
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const ld = n * P;
    const k = this.kernel;
    for (let i = 0; i < n; i++) {
      im2col(x.data, i * C * H * W, C, H, W, k, this.stride, this.padding, OH, OW, this.cols, i * P, ld);
    }
    gemm(false, false, F, ld, this.patchSize, this.weight, 0, this.patchSize, this.cols, 0, ld, this.fmajor, 0, ld, false);
    // [F, N·P] → [N, F, P], adding each filter's bias on the way.
    const y = this.out.get(n);
    const yd = y.data;
    for (let f = 0; f < F; f++) {
      const b = this.bias[f];
      for (let i = 0; i < n; i++) {
        const src = f * ld + i * P;
        const dst = (i * F + f) * P;
        for (let p = 0; p < P; p++) yd[dst + p] = this.fmajor[src + p] + b;
      }
    }
    this.input = x;
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const ld = n * P;
    const K = this.patchSize;
    // dY [N, F, P] → filter-major [F, N·P], summing the bias gradient on the way.
    const g = this.fmajor;
    const dyd = dy.data;
    for (let f = 0; f < F; f++) {
      let db = 0;
      for (let i = 0; i < n; i++) {
        const src = (i * F + f) * P;
        const dst = f * ld + i * P;
        for (let p = 0; p < P; p++) {
          const v = dyd[src + p];
          g[dst + p] = v;
          db += v;
        }
      }
      this.biasGrad[f] = db;
    }
    gemm(false, true, F, K, ld, g, 0, ld, this.cols, 0, ld, this.weightGrad, 0, K, false);
    if (!this.needsInputGrad) return null;
    if (this.dcols.length < K * ld) this.dcols = allocF32(K * this.capacity * P);
    gemm(true, false, K, ld, F, this.weight, 0, K, g, 0, ld, this.dcols, 0, ld, false);
    const dx = this.inGrad.get(n);
    dx.data.fill(0);
    const k = this.kernel;
    for (let i = 0; i < n; i++) {
      col2im(this.dcols, i * P, ld, C, H, W, k, this.stride, this.padding, OH, OW, dx.data, i * C * H * W);
    }
    return dx;
  }

  /**
   * The article's convolution, loop by loop: for each image, each filter and each
   * output position, the dot product of the filter with the k×k×C patch under it.
   * Allocates its result; it is the reference, not the training path.
   */
  forwardNaive(x: Tensor): Tensor {
    const n = x.shape[0];
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const k = this.kernel;
    const s = this.stride;
    const p = this.padding;
    const y = new Float32Array(n * sizeOf(this.outShape));
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            let sum = this.bias[f];
            for (let c = 0; c < C; c++) {
              for (let ki = 0; ki < k; ki++) {
                const iy = oy * s + ki - p;
                if (iy < 0 || iy >= H) continue;
                for (let kj = 0; kj < k; kj++) {
                  const ix = ox * s + kj - p;
                  if (ix < 0 || ix >= W) continue;
                  sum += x.data[((i * C + c) * H + iy) * W + ix] * this.weight[((f * C + c) * k + ki) * k + kj];
                }
              }
            }
            y[((i * F + f) * OH + oy) * OW + ox] = sum;
          }
        }
      }
    }
    return { data: y, shape: [n, F, OH, OW] };
  }
}
