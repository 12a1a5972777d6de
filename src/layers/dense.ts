import { gemm } from '../kernels/gemm.js';
import { allocF32 } from '../kernels/memory.js';
import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import { param, type Layer, type Param } from './layer.js';

/**
 * Fully connected layer y = x·Wᵀ + b, weight [out, in] as PyTorch's Linear.
 * Backward: dW = dYᵀ·X, db = column sums of dY, dX = dY·W.
 */
export class Dense implements Layer {
  readonly type = 'dense';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly weightGrad: Float32Array;
  readonly biasGrad: Float32Array;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  private input: Tensor | null = null;

  constructor(inShape: readonly number[], readonly outFeatures: number) {
    if (inShape.length !== 1) throw new RangeError(`dense needs a flat input, got [${inShape.join(', ')}]`);
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
    return [
      param('weight', [this.outFeatures, this.inFeatures], this.weight, this.weightGrad),
      param('bias', [this.outFeatures], this.bias, this.biasGrad),
    ];
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
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += g[i * O + o];
      this.biasGrad[o] = s;
    }
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(n);
    gemm(false, false, n, I, O, g, 0, O, this.weight, 0, I, dx.data, 0, I, false);
    return dx;
  }
}
