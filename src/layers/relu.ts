import { reluBackward, reluForward } from '../kernels/elementwise.js';
import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import type { Layer, Param } from './layer.js';

/** max(0, x), element by element. The gradient passes where the output is positive. */
export class Relu implements Layer {
  readonly type = 'relu';
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  private output: Tensor | null = null;

  constructor(readonly inShape: readonly number[]) {
    this.outShape = inShape;
    this.out = new BatchBuffer(inShape);
    this.inGrad = new BatchBuffer(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const y = this.out.get(x.shape[0]);
    reluForward(x.data, y.data, x.data.length); // y = x > 0 ? x : 0
    this.output = y;
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(dy.shape[0]);
    reluBackward(this.output!.data, dy.data, dx.data, dy.data.length); // dx = y > 0 ? dy : 0
    return dx;
  }
}
