import { channelAffine, reluBackward, reluForward, zeroFloats } from '../kernels/elementwise.js';
import { gemmBatched, operand, type MatrixOperand } from '../kernels/gemm.js';
import { col2im, im2col, type PatchGeometry } from '../kernels/im2col.js';
import { allocF32 } from '../kernels/memory.js';
import { pickConvAlgorithm, winogradAlgorithm, winogradSupports, WinogradConv, type ConvAlgorithm } from '../kernels/winograd.js';
import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import { hasBiasBefore, needImage, ShapeError, windowOutput, type LayerKind } from './kind.js';
import { param, type Layer, type Param } from './layer.js';

/** See Conv2d.setEpilogue: out = act(scale ⊙ (conv + bias) + shift) per filter. */
export interface ConvEpilogue {
  scale?: Float32Array | null;
  shift?: Float32Array | null;
  relu?: boolean;
}

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

/** The epilogue a training forward applies when a ReLU is fused (reluInTraining). */
const RELU_ONLY: ConvEpilogue = Object.freeze({ relu: true });

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
 *
 * 3×3 kernels at stride 1 go by Winograd's minimal filtering instead (where measured
 * faster, see `pickConvAlgorithm`): each m×m output tile is
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
 * d the (m+2)×(m+2) input tile, g the filter, ⊙ element-wise; summed over channels the ⊙
 * becomes (m+2)² GEMMs, with 2.25× (m = 2) or 4× (m = 4) fewer multiplications than the
 * direct sum. Backward is the adjoint of each stage. The transforms and the whole path:
 * src/kernels/winograd.ts. im2col stays the general path and the reference;
 * `algorithm` says which one runs, KCONV_CONV=im2col forces the general one.
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
  /** One image's patches (im2col and col2im): the input, the window, the output positions. */
  private readonly patches: PatchGeometry;
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
  private chosen: ConvAlgorithm | null = null;
  /** The gradient masked by a fused ReLU (im2col path; Winograd masks as it copies). */
  private maskedGrad: BatchBuffer | null = null;
  private winograd: WinogradConv | null = null;
  private epilogue: ConvEpilogue | null = null;
  /**
   * Set by fuseForTraining (src/net/fuse.ts) when a ReLU follows: training forwards then
   * apply it here (free in Winograd's output transform) and the ReLU layer passes both
   * directions through. Predicting (training = false) still gives the map before the
   * ReLU, which `kconv show` and serve draw.
   */
  reluInTraining = false;
  /**
   * Set by fuseForTraining when a ReLU comes just before this Winograd convolution and
   * nothing else takes it: training forwards then apply it to the input in the copy that
   * pads each image (free), and backward masks the input gradient in the copy that crops
   * it, where the input (the ReLU's) is not positive. The im2col path, should the
   * algorithm change after fusing, applies it with a pass of its own.
   */
  reluBeforeInTraining = false;
  /** Whether the last forward applied that ReLU to its input. */
  private inputRelu = false;
  /** max(0, x) for the im2col path with reluBeforeInTraining. */
  private reluInput: BatchBuffer | null = null;
  /** The epilogue of the last forward, which its backward must undo. */
  private active: ConvEpilogue | null = null;
  /** Per filter, what the fused epilogue applies: act(scale·y + shift) (see setEpilogue). */
  private epiScale: Float32Array = allocF32(0);
  private epiShift: Float32Array = allocF32(0);
  // The im2col path's GEMM operands, built once and re-pointed per call.
  private ops: { wb: MatrixOperand; cols: MatrixOperand; y: MatrixOperand; dy: MatrixOperand; colsT: MatrixOperand;
    wGrad: MatrixOperand; bGrad: MatrixOperand; w: MatrixOperand; dcols: MatrixOperand } | null = null;

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
    this.patches = {
      channels: c, height: h, width: w, kernel: this.kernel, stride: this.stride, pad: this.padding,
      outHeight: this.outShape[1], outWidth: this.outShape[2],
    };
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

  /**
   * Which algorithm forward and backward run: 'im2col' (any shape), or Winograd
   * 'winograd2' / 'winograd4' (F(2×2, 3×3) / F(4×4, 3×3); 3×3 kernels at stride 1).
   * Chosen per shape on first use (`pickConvAlgorithm`, KCONV_CONV overrides); settable,
   * e.g. to compare them.
   */
  get algorithm(): ConvAlgorithm {
    this.chosen ??= pickConvAlgorithm(this.inChannels, this.inShape[1], this.inShape[2], this.outChannels, this.kernel, this.stride, this.padding);
    return this.chosen;
  }

  set algorithm(a: ConvAlgorithm) {
    if (!this.supports(a)) throw new RangeError(`conv2d: ${a} cannot run a ${this.kernel}×${this.kernel} kernel at stride ${this.stride}`);
    if (a !== this.chosen) this.winograd = null;
    this.chosen = a;
  }

  supports(a: ConvAlgorithm): boolean {
    return a === 'im2col' || winogradSupports(this.kernel, this.stride, this.padding);
  }

  /**
   * Fuses what follows the convolution into its last stage: the output becomes
   * act(scale ⊙ (conv + bias) + shift) per filter, act = ReLU when `relu`, computed in
   * Winograd's output transform (or one pass over each group's output after im2col's
   * GEMM). For prediction a batchnorm folds in as scale = γ/√(σ² + ε),
   * shift = β − μ·scale. During training only `relu` may be set: backward then masks the
   * incoming gradient where the output is not positive (in the copy Winograd makes of
   * it anyway), so a ReLU layer after this one must pass both directions through. The
   * arrays are read at every forward; null removes the epilogue.
   */
  setEpilogue(epilogue: ConvEpilogue | null): void {
    const F = this.outChannels;
    if (epilogue && ((epilogue.scale && epilogue.scale.length !== F) || (epilogue.shift && epilogue.shift.length !== F))) {
      throw new RangeError(`conv2d: epilogue scale and shift need ${F} values`);
    }
    this.epilogue = epilogue;
  }

  /** Fills epiScale/epiShift for this forward; `withBias` folds the bias into the shift. */
  private epilogueArrays(withBias: boolean): void {
    const F = this.outChannels, e = this.active;
    if (this.epiScale.length !== F) {
      this.epiScale = allocF32(F);
      this.epiShift = allocF32(F);
    }
    for (let f = 0; f < F; f++) {
      const sc = e?.scale ? e.scale[f] : 1;
      this.epiScale[f] = sc;
      this.epiShift[f] = (withBias ? sc * this.bias[f] : 0) + (e?.shift ? e.shift[f] : 0);
    }
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
    const F = this.outChannels, G = this.groupSize();
    if (this.dcols.length < G * K * P) this.dcols = allocF32(G * K * P);
    const y = this.out.get(n).data;
    this.ops = {
      wb: operand(this.wb, 0, K + 1),
      cols: operand(this.cols, 0, P, (K + 1) * P),
      y: operand(y, 0, P, F * P),
      dy: operand(y, 0, P, F * P),
      colsT: operand(this.cols, 0, P, (K + 1) * P, true),
      wGrad: operand(this.weightGrad, 0, K),
      bGrad: operand(this.biasGrad, 0, 1),
      w: operand(this.weight, 0, K, 0, true),
      dcols: operand(this.dcols, 0, P, K * P),
    };
  }

  forward(x: Tensor, training: boolean): Tensor {
    const n = x.shape[0];
    const y = this.out.get(n);
    this.active = this.epilogue ?? (training && this.reluInTraining ? RELU_ONLY : null);
    this.inputRelu = training && this.reluBeforeInTraining;
    if (this.algorithm !== 'im2col') {
      this.winograd ??= new WinogradConv(this.inChannels, this.inShape[1], this.inShape[2], this.outChannels, this.padding, winogradAlgorithm(this.algorithm === 'winograd2' ? 2 : 4));
      this.epilogueArrays(true);
      this.winograd.forward(x.data, n, this.weight, { scale: this.epiScale, shift: this.epiShift, relu: this.active?.relu ?? false }, y.data, this.inputRelu, training);
      return y;
    }
    if (this.inputRelu) {
      const xr = (this.reluInput ??= new BatchBuffer(this.inShape)).get(n);
      reluForward(x.data, xr.data, xr.data.length);
      x = xr;
    }
    this.ensureCapacity(n);
    const ops = this.ops!;
    const [C, H, W] = this.inShape;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const K = this.patchSize;
    for (let f = 0; f < F; f++) {
      this.wb.set(this.weight.subarray(f * K, (f + 1) * K), f * (K + 1));
      this.wb[f * (K + 1) + K] = this.bias[f];
    }
    if (this.active) this.epilogueArrays(false);
    // Y_n[F, P] = [W | b]·cols_n for every image: the NCHW output, bias included. A group
    // of images at a time, so its patch matrices are still in cache for the GEMM.
    ops.y.data = y.data;
    const G = this.groupSize();
    for (let i0 = 0; i0 < n; i0 += G) {
      const cnt = Math.min(G, n - i0);
      for (let i = i0; i < i0 + cnt; i++) {
        im2col(this.patches, x.data, i * C * H * W, this.cols, i * (K + 1) * P, P);
      }
      ops.cols.offset = i0 * (K + 1) * P;
      ops.y.offset = i0 * F * P;
      gemmBatched(F, P, K + 1, ops.wb, ops.cols, ops.y, false, cnt);
      if (this.active) channelAffine(y.data, i0 * F * P, cnt * F, F, P, this.epiScale, this.epiShift, this.active.relu ?? false);
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (this.active?.scale) throw new Error('conv2d: backward through a fused scale (a folded batchnorm) is not supported: fold only for prediction');
    const n = dy.shape[0];
    const [C, H, W] = this.inShape;
    const dx = this.needsInputGrad ? this.inGrad.get(n) : null;
    // With a fused ReLU, the gradient counts only where the output is positive.
    const reluOutput = this.active?.relu ? this.out.get(n).data : null;
    if (this.algorithm !== 'im2col') {
      this.winograd!.backward(dy.data, n, this.weightGrad, this.biasGrad, dx?.data ?? null, reluOutput);
      return dx;
    }
    const ops = this.ops!;
    const [F, OH, OW] = this.outShape;
    const P = OH * OW;
    const K = this.patchSize;
    let g = dy.data;
    if (reluOutput !== null) {
      this.maskedGrad ??= new BatchBuffer(this.outShape);
      g = this.maskedGrad.get(n).data;
      reluBackward(reluOutput, dy.data, g, g.length);
    }
    // dY_n is the F×P matrix at n·F·P.
    ops.dy.data = g;
    ops.dy.offset = 0;
    ops.colsT.offset = 0;
    // dW = Σ_n dY_n·cols_nᵀ (the patch rows only), and db = Σ_n dY_n·1 (the ones row).
    gemmBatched(F, K, P, ops.dy, ops.colsT, ops.wGrad, false, n);
    ops.colsT.offset = K * P;
    if (this.hasBias) gemmBatched(F, 1, P, ops.dy, ops.colsT, ops.bGrad, false, n);
    if (dx === null) return null;
    // dcols_n = Wᵀ·dY_n, then col2im, a group of images at a time (dcols stays in cache).
    const G = this.groupSize();
    zeroFloats(dx.data, 0, dx.data.length);
    for (let i0 = 0; i0 < n; i0 += G) {
      const cnt = Math.min(G, n - i0);
      ops.dy.offset = i0 * F * P;
      gemmBatched(K, P, F, ops.w, ops.dy, ops.dcols, false, cnt);
      for (let i = i0; i < i0 + cnt; i++) {
        col2im(this.patches, this.dcols, (i - i0) * K * P, P, dx.data, i * C * H * W);
      }
    }
    if (this.inputRelu) reluBackward(this.reluInput!.get(n).data, dx.data, dx.data, dx.data.length);
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
