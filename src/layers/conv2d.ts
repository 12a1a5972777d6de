import { gemmBatched } from '../kernels/gemm.js';
import { col2im, im2col } from '../kernels/im2col.js';
import { allocF32 } from '../kernels/memory.js';
import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import { hasBiasBefore, needImage, ShapeError, windowOutput, type LayerKind } from './kind.js';
import { param, type Layer, type Param } from './layer.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  padding?: number;
  /** False before batch normalization, which would cancel a bias (PyTorch's bias=False). */
  bias?: boolean;
}

/** `convFkK[sS][pP]`: F filters of K×K, stride S, zero padding P. */
export interface Conv2dSpec {
  type: 'conv2d';
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/**
 * Work goes through the batch in groups of images whose patch matrices take about this
 * many bytes: small enough to stay in L2 from im2col to the GEMM that reads them (and
 * from the dcols GEMM to col2im), large enough that each batched GEMM call has work.
 * (Measured on the default net: about 10% faster than one pass over all 64 images.)
 */
const GROUP_BYTES = 256 * 1024;

/** The article's output size: floor((H + 2p − k) / s) + 1. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return windowOutput(size, kernel, stride, padding);
}

/**
 * 2-D convolution (cross-correlation, as in every deep-learning library) with square
 * kernels, stride and zero padding. Weight layout [out, in, k, k] as PyTorch's Conv2d.
 *
 * Two forward paths: `forwardNaive`, the article's loops, is the reference; `forward`
 * lays every patch of an image out as a column (im2col) and multiplies by the filters
 * (GEMM): Y_n = W·cols_n for each image n, all in one batched GEMM call that writes
 * straight into the NCHW output. Backward goes through the same matrices:
 * dW = Σ_n dY_n·cols_nᵀ, dcols_n = Wᵀ·dY_n, and col2im folds dcols back onto the image.
 */
export class Conv2d implements Layer {
  readonly type = 'conv2d';
  readonly spec: Conv2dSpec;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  /** Without a bias, `bias` stays all zeros (the ones row then adds nothing) and is not a parameter. */
  readonly hasBias: boolean;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;

  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;

  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /**
   * The batch's patch matrices, kept from forward for the weight gradient: image n's
   * [C·k·k + 1, OH·OW] starts at n·(C·k·k + 1)·OH·OW. The extra last row is all ones,
   * so that with the bias as an extra column of the filters, [W | b]·cols_n = W·cols_n + b
   * (the bias costs one more GEMM row, no pass over the output).
   */
  private cols: Float32Array = allocF32(0);
  /** [W | b], F × (C·k·k + 1): the filters with the bias appended, refreshed every forward. */
  private readonly wb: Float32Array;
  /** dcols_n = Wᵀ·dY_n for a group of images, same layout as cols without the ones row. */
  private dcols: Float32Array = allocF32(0);
  private capacity = 0;

  constructor(inShape: readonly number[], opts: Conv2dOptions) {
    const [c, h, w] = inShape;
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.kernel = opts.kernel;
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.hasBias = opts.bias ?? true;
    this.spec = { type: 'conv2d', outChannels: this.outChannels, kernel: this.kernel, stride: this.stride, padding: this.padding };
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
    this.wb = allocF32(this.outChannels * (this.patchSize + 1));
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(this.inShape);
  }

  params(): Param[] {
    const k = this.kernel;
    const weight = param('weight', [this.outChannels, this.inChannels, k, k], this.weight, this.weightGrad);
    return this.hasBias ? [weight, param('bias', [this.outChannels], this.bias, this.biasGrad)] : [weight];
  }

  /** Rows of the patch matrix: one per weight of a filter. */
  private get patchSize(): number {
    return this.inChannels * this.kernel * this.kernel;
  }

  /** Images per group in forward and backward: about GROUP_BYTES of patch matrices. */
  private groupSize(): number {
    const P = this.outShape[1] * this.outShape[2];
    return Math.max(1, Math.floor(GROUP_BYTES / (4 * (this.patchSize + 1) * P)));
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const P = this.outShape[1] * this.outShape[2];
    const K = this.patchSize;
    this.cols = allocF32(n * (K + 1) * P);
    for (let i = 0; i < n; i++) this.cols.fill(1, (i * (K + 1) + K) * P, (i + 1) * (K + 1) * P);
    this.capacity = n;
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    this.ensureCapacity(n);
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const K = this.patchSize;
    const k = this.kernel;
    for (let f = 0; f < F; f++) {
      this.wb.set(this.weight.subarray(f * K, (f + 1) * K), f * (K + 1));
      this.wb[f * (K + 1) + K] = this.bias[f];
    }
    // Y_n[F, P] = [W | b]·cols_n for every image: the NCHW output, bias included. A group
    // of images at a time, so its patch matrices are still in cache for the GEMM.
    const y = this.out.get(n);
    const G = this.groupSize();
    for (let i0 = 0; i0 < n; i0 += G) {
      const cnt = Math.min(G, n - i0);
      for (let i = i0; i < i0 + cnt; i++) {
        im2col(x.data, i * C * H * W, C, H, W, k, this.stride, this.padding, OH, OW, this.cols, i * (K + 1) * P, P);
      }
      gemmBatched(false, false, F, P, K + 1, this.wb, 0, K + 1, 0, this.cols, i0 * (K + 1) * P, P, (K + 1) * P, y.data, i0 * F * P, P, F * P, false, cnt);
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const K = this.patchSize;
    const g = dy.data; // [N, F, P]: dY_n is the F×P matrix at n·F·P
    // dW = Σ_n dY_n·cols_nᵀ (the patch rows only), and db = Σ_n dY_n·1 (the ones row).
    gemmBatched(false, true, F, K, P, g, 0, P, F * P, this.cols, 0, P, (K + 1) * P, this.weightGrad, 0, K, 0, false, n);
    if (this.hasBias) gemmBatched(false, true, F, 1, P, g, 0, P, F * P, this.cols, K * P, P, (K + 1) * P, this.biasGrad, 0, 1, 0, false, n);
    if (!this.needsInputGrad) return null;
    // dcols_n = Wᵀ·dY_n, then col2im, a group of images at a time (dcols stays in cache).
    const G = this.groupSize();
    if (this.dcols.length < G * K * P) this.dcols = allocF32(G * K * P);
    const dx = this.inGrad.get(n);
    dx.data.fill(0);
    const k = this.kernel;
    for (let i0 = 0; i0 < n; i0 += G) {
      const cnt = Math.min(G, n - i0);
      gemmBatched(true, false, K, P, F, this.weight, 0, K, 0, g, i0 * F * P, P, F * P, this.dcols, 0, P, K * P, false, cnt);
      for (let i = i0; i < i0 + cnt; i++) {
        col2im(this.dcols, (i - i0) * K * P, P, C, H, W, k, this.stride, this.padding, OH, OW, dx.data, i * C * H * W);
      }
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

export const conv2d: LayerKind<Conv2dSpec, Conv2d> = {
  type: 'conv2d',
  token: { pattern: /^conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?$/, help: 'convFkK[sS][pP] (F filters of K×K, stride S, padding P)' },
  parse: (m) => ({
    type: 'conv2d', outChannels: +m[1], kernel: +m[2], stride: m[3] === undefined ? 1 : +m[3], padding: m[4] === undefined ? 0 : +m[4],
  }),
  format: (s) => `conv${s.outChannels}k${s.kernel}${s.stride !== 1 ? `s${s.stride}` : ''}${s.padding !== 0 ? `p${s.padding}` : ''}`,
  check(s) {
    if (s.outChannels < 1) return 'needs at least 1 filter';
    if (s.kernel < 1) return 'kernel size must be at least 1';
    if (s.stride < 1) return 'stride must be at least 1';
    if (s.padding >= s.kernel) return 'padding must be smaller than the kernel';
    return null;
  },
  takes: 'image',
  outShape(s, inShape) {
    const [c, h, w] = needImage(inShape);
    const k = s.kernel;
    if (k > h + 2 * s.padding || k > w + 2 * s.padding) {
      throw new ShapeError(`a ${k}×${k} kernel does not fit the ${c}×${h}×${w} input${s.padding ? ` padded by ${s.padding}` : ''}: use a smaller kernel, more padding, or less pooling before it`);
    }
    return [s.outChannels, windowOutput(h, k, s.stride, s.padding), windowOutput(w, k, s.stride, s.padding)];
  },
  cost(s, [c, h, w], [f, oh, ow], next) {
    const patch = c * s.kernel * s.kernel;
    return {
      params: f * patch + (hasBiasBefore(next) ? f : 0),
      macs: f * oh * ow * patch,
      // output, input gradient, and the patch matrix with its ones row
      workspace: f * oh * ow + c * h * w + (patch + 1) * oh * ow,
    };
  },
  create: (s, inShape, ctx) => new Conv2d(inShape, {
    inChannels: inShape[0], outChannels: s.outChannels, kernel: s.kernel, stride: s.stride, padding: s.padding, bias: hasBiasBefore(ctx.next),
  }),
  toJSON: (l) => ({ inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, stride: l.stride, padding: l.padding }),
  fromJSON(r, inShape) {
    const inChannels = r.int('inChannels', 1);
    const spec: Conv2dSpec = { type: 'conv2d', outChannels: r.int('outChannels', 1), kernel: r.int('kernel', 1), stride: r.int('stride', 1), padding: r.int('padding', 0) };
    if (inShape.length === 3 && inChannels !== inShape[0]) r.fail(`inChannels is ${inChannels} but the layer before gives ${inShape[0]} channels`);
    return spec;
  },
  version: (l) => (l.hasBias ? 1 : 2),
  onnx(l, g) {
    const k = l.kernel;
    const inputs = [g.input, g.constant('weight', [l.outChannels, l.inChannels, k, k], l.weight)];
    if (l.hasBias) inputs.push(g.constant('bias', [l.outChannels], l.bias));
    g.node('Conv', inputs, {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [l.stride, l.stride] },
      pads: { ints: [l.padding, l.padding, l.padding, l.padding] },
      dilations: { ints: [1, 1] },
      group: { int: 1 },
    });
  },
};
