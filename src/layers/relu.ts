import { reluBackward, reluForward } from '../kernels/elementwise.js';
import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import { sizeOf } from '../tensor/tensor.js';
import type { LayerKind } from './kind.js';
import type { Layer, Param } from './layer.js';

export interface ReluSpec {
  type: 'relu';
}

/** max(0, x), element by element. The gradient passes where the output is positive. */
export class Relu implements Layer {
  readonly type = 'relu';
  readonly spec: ReluSpec = { type: 'relu' };
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  private output: Tensor | null = null;
  /**
   * Set by fuseForTraining (src/net/fuse.ts) when the layer before or after applies this
   * ReLU itself while training: training forwards and their backward then pass through.
   * Predicting still applies it here.
   */
  fusedInTraining = false;
  private passed = false;

  constructor(readonly inShape: readonly number[]) {
    this.outShape = inShape;
    this.out = new BatchBuffer(inShape);
    this.inGrad = new BatchBuffer(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, training: boolean): Tensor {
    this.passed = training && this.fusedInTraining;
    if (this.passed) return x;
    const y = this.out.get(x.shape[0]);
    reluForward(x.data, y.data, x.data.length); // y = x > 0 ? x : 0
    this.output = y;
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    if (this.passed) return dy;
    const dx = this.inGrad.get(dy.shape[0]);
    reluBackward(this.output!.data, dy.data, dx.data, dy.data.length); // dx = y > 0 ? dy : 0
    return dx;
  }
}

export const relu: LayerKind<ReluSpec, Relu> = {
  type: 'relu',
  token: { pattern: /^relu$/, help: 'relu' },
  parse: () => ({ type: 'relu' }),
  format: () => 'relu',
  check: () => null,
  takes: 'any',
  outShape: (_s, inShape) => inShape,
  cost: (_s, inShape) => ({ params: 0, macs: 0, workspace: 2 * sizeOf(inShape) }),
  create: (_s, inShape) => new Relu(inShape),
  toJSON: () => ({}),
  fromJSON: () => ({ type: 'relu' }),
  version: () => 1,
  onnx: (_l, g) => g.node('Relu', [g.input]),
  mapLabel: 'relu',
};
