import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import { needImage, type LayerKind } from './kind.js';
import type { Layer, Param } from './layer.js';

/** `gap`: global average pooling, C×H×W → C. */
export interface GlobalAvgPoolSpec {
  type: 'globalavgpool';
}

/**
 * Global average pooling: each channel's mean over the whole map, C×H×W → C (PyTorch's
 * AdaptiveAvgPool2d(1) followed by Flatten). y_c = (1/HW)·Σ x_c; dx_c = dy_c / HW everywhere.
 */
export class GlobalAvgPool implements Layer {
  readonly type = 'globalavgpool';
  readonly spec: GlobalAvgPoolSpec = { type: 'globalavgpool' };
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;

  constructor(inShape: readonly number[]) {
    const [c] = needImage(inShape);
    this.inShape = inShape;
    this.outShape = [c];
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    const [C, H, W] = this.inShape;
    const plane = H * W;
    const y = this.out.get(n);
    const xd = x.data;
    for (let p = 0; p < n * C; p++) {
      let sum = 0;
      for (let j = p * plane, end = j + plane; j < end; j++) sum += xd[j];
      y.data[p] = sum / plane;
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const n = dy.shape[0];
    const [C, H, W] = this.inShape;
    const plane = H * W;
    const dx = this.inGrad.get(n);
    for (let p = 0; p < n * C; p++) dx.data.fill(dy.data[p] / plane, p * plane, (p + 1) * plane);
    return dx;
  }
}

export const globalavgpool: LayerKind<GlobalAvgPoolSpec, GlobalAvgPool> = {
  type: 'globalavgpool',
  token: { pattern: /^gap$/, help: 'gap (global average pool)' },
  parse: () => ({ type: 'globalavgpool' }),
  format: () => 'gap',
  check: () => null,
  takes: 'image',
  outShape: (_s, inShape) => [needImage(inShape)[0]],
  cost: (_s, [c, h, w]) => ({ params: 0, macs: 0, workspace: c + c * h * w }),
  create: (_s, inShape) => new GlobalAvgPool(inShape),
  toJSON: () => ({}),
  fromJSON: () => ({ type: 'globalavgpool' }),
  version: () => 2,
  onnx(_l, g) {
    g.node('GlobalAveragePool', [g.input]); // [N, C, 1, 1]
    g.node('Flatten', [g.input], { axis: { int: 1 } }); // [N, C]
  },
};
