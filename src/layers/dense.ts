import { gemm } from '../kernels/gemm.js';
import { allocF32 } from '../kernels/memory.js';
import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import { hasBiasBefore, ShapeError, shapeText, type LayerKind } from './kind.js';
import { param, type Layer, type Param } from './layer.js';

/** `denseN`: fully connected, N outputs. */
export interface DenseSpec {
  type: 'dense';
  outFeatures: number;
}

/**
 * Fully connected layer y = x·Wᵀ + b, weight [out, in] as PyTorch's Linear.
 * Backward: dW = dYᵀ·X, db = column sums of dY, dX = dY·W.
 * Without a bias (before batch normalization) b stays zero and is not a parameter.
 */
export class Dense implements Layer {
  readonly type = 'dense';
  readonly spec: DenseSpec;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** The last forward's input, for dW. */
  private input: Tensor | null = null;

  constructor(inShape: readonly number[], readonly outFeatures: number, readonly hasBias = true) {
    if (inShape.length !== 1) throw new RangeError(`dense needs a flat input, got [${inShape.join(', ')}]`);
    this.spec = { type: 'dense', outFeatures };
    this.inShape = inShape;
    this.outShape = [outFeatures];
    this.weight = allocF32(outFeatures * this.inFeatures);
    this.weightGrad = allocF32(outFeatures * this.inFeatures);
    this.bias = allocF32(outFeatures);
    this.biasGrad = allocF32(outFeatures);
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(this.inShape);
  }

  get inFeatures(): number {
    return this.inShape[0];
  }

  params(): Param[] {
    const weight = param('weight', [this.outFeatures, this.inFeatures], this.weight, this.weightGrad);
    return this.hasBias ? [weight, param('bias', [this.outFeatures], this.bias, this.biasGrad)] : [weight];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    const I = this.inFeatures;
    const O = this.outFeatures;
    const y = this.out.get(n);
    const yd = y.data;
    for (let i = 0; i < n; i++) yd.set(this.bias, i * O);
    gemm(false, true, n, O, I, x.data, 0, I, this.weight, 0, I, yd, 0, O, true);
    this.input = x;
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    const n = dy.shape[0];
    const I = this.inFeatures;
    const O = this.outFeatures;
    const g = dy.data;
    gemm(true, false, O, I, n, g, 0, O, this.input!.data, 0, I, this.weightGrad, 0, I, false);
    if (this.hasBias) {
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += g[i * O + o];
        this.biasGrad[o] = s;
      }
    }
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(n);
    gemm(false, false, n, I, O, g, 0, O, this.weight, 0, I, dx.data, 0, I, false);
    return dx;
  }
}

export const dense: LayerKind<DenseSpec, Dense> = {
  type: 'dense',
  token: { pattern: /^dense(\d+)$/, help: 'denseN (N outputs)' },
  parse: (m) => ({ type: 'dense', outFeatures: +m[1] }),
  format: (s) => `dense${s.outFeatures}`,
  check: (s) => (s.outFeatures < 1 ? 'needs at least 1 output' : null),
  takes: 'flat',
  outShape(s, inShape) {
    if (inShape.length !== 1) throw new ShapeError(`needs a flat input but gets ${shapeText(inShape)}: a flatten layer must come before it`);
    return [s.outFeatures];
  },
  cost: (s, [i], [o], next) => ({ params: i * o + (hasBiasBefore(next) ? o : 0), macs: i * o, workspace: i + o }),
  create: (s, inShape, ctx) => new Dense(inShape, s.outFeatures, hasBiasBefore(ctx.next)),
  toJSON: (l) => ({ inFeatures: l.inFeatures, outFeatures: l.outFeatures }),
  fromJSON(r, inShape) {
    const inFeatures = r.int('inFeatures', 1);
    const spec: DenseSpec = { type: 'dense', outFeatures: r.int('outFeatures', 1) };
    if (inShape.length === 1 && inFeatures !== inShape[0]) r.fail(`inFeatures is ${inFeatures} but the layer before gives ${inShape[0]} values`);
    return spec;
  },
  version: (l) => (l.hasBias ? 1 : 2),
  onnx(l, g) {
    // y = x · Wᵀ + b with W stored [out, in], as torch.nn.Linear; without a bias, Gemm's C is left out.
    const inputs = [g.input, g.constant('weight', [l.outFeatures, l.inFeatures], l.weight)];
    if (l.hasBias) inputs.push(g.constant('bias', [l.outFeatures], l.bias));
    g.node('Gemm', inputs, { alpha: { float: 1 }, beta: { float: 1 }, transB: { int: 1 } });
  },
};
