import { ReshapeView, sizeOf, type Tensor } from '../tensor/tensor.js';
import type { LayerKind } from './kind.js';
import type { Layer, Param } from './layer.js';

export interface FlattenSpec {
  type: 'flatten';
}

/**
 * [N, C, H, W] → [N, C·H·W] in C, H, W order (PyTorch's nn.Flatten), so dense weights
 * move between kconv and PyTorch unchanged. No copy: NCHW is already in that order.
 */
export class Flatten implements Layer {
  readonly type = 'flatten';
  readonly spec: FlattenSpec = { type: 'flatten' };
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

export const flatten: LayerKind<FlattenSpec, Flatten> = {
  type: 'flatten',
  token: { pattern: /^flatten$/, help: 'flatten' },
  parse: () => ({ type: 'flatten' }),
  format: () => 'flatten',
  check: () => null,
  takes: 'any',
  outShape: (_s, inShape) => [sizeOf(inShape)],
  cost: () => ({ params: 0, macs: 0, workspace: 0 }),
  create: (_s, inShape) => new Flatten(inShape),
  toJSON: () => ({}),
  fromJSON: () => ({ type: 'flatten' }),
  version: () => 1,
  // [N, C, H, W] → [N, C·H·W] in C, H, W order, as kconv's weights expect.
  onnx: (_l, g) => g.node('Flatten', [g.input], { axis: { int: 1 } }),
};
