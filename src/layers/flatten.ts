import { ReshapeView, sizeOf, type Tensor } from '../tensor/tensor.js';
import type { Layer, Param } from './layer.js';

/**
 * [N, C, H, W] → [N, C·H·W] in C, H, W order (PyTorch's nn.Flatten), so dense weights
 * move between kconv and PyTorch unchanged. No copy: NCHW is already in that order.
 */
export class Flatten implements Layer {
  readonly type = 'flatten';
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly flat: ReshapeView;
  private readonly unflat: ReshapeView;

  constructor(readonly inShape: readonly number[]) {
    this.outShape = [sizeOf(inShape)];
    this.flat = new ReshapeView(this.outShape);
    this.unflat = new ReshapeView(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    return this.flat.of(x);
  }

  backward(dy: Tensor): Tensor | null {
    return this.needsInputGrad ? this.unflat.of(dy) : null;
  }
}
