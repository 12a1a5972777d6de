import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import type { LayerKind } from './kind.js';
import type { Layer, Param } from './layer.js';
import { poolChecks, poolFromJSON, poolOutShape } from './maxpool2d.js';

/** `avgpoolK[sS]`: K×K average pooling, stride S (default K). */
export interface AvgPool2dSpec {
  type: 'avgpool2d';
  size: number;
  stride: number;
}

/**
 * Average pooling over size×size windows, stride defaulting to size, no padding, output
 * size floor((H − size) / stride) + 1 (PyTorch's AvgPool2d): y = (1/k²)·Σ_window x.
 * Backward spreads each gradient evenly over its window: dx += dy / k² (+= since windows
 * overlap when stride < size).
 */
export class AvgPool2d implements Layer {
  readonly type = 'avgpool2d';
  readonly spec: AvgPool2dSpec;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;

  constructor(inShape: readonly number[], readonly size: number, readonly stride: number = size) {
    this.spec = { type: 'avgpool2d', size, stride };
    this.inShape = inShape;
    this.outShape = poolOutShape(this.spec, inShape);
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    const [C, H, W] = this.inShape;
    const [, OH, OW] = this.outShape;
    const k = this.size;
    const s = this.stride;
    const inv = 1 / (k * k);
    const y = this.out.get(n);
    const xd = x.data;
    const yd = y.data;
    for (let p = 0; p < n * C; p++) {
      const xo = p * H * W;
      const yo = p * OH * OW;
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let sum = 0;
          for (let ky = 0; ky < k; ky++) {
            const row = xo + (oy * s + ky) * W + ox * s;
            for (let kx = 0; kx < k; kx++) sum += xd[row + kx];
          }
          yd[yo + oy * OW + ox] = sum * inv;
        }
      }
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const n = dy.shape[0];
    const [C, H, W] = this.inShape;
    const [, OH, OW] = this.outShape;
    const k = this.size;
    const s = this.stride;
    const inv = 1 / (k * k);
    const dx = this.inGrad.get(n);
    const g = dy.data;
    const d = dx.data;
    d.fill(0);
    for (let p = 0; p < n * C; p++) {
      const xo = p * H * W;
      const yo = p * OH * OW;
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          const v = g[yo + oy * OW + ox] * inv;
          for (let ky = 0; ky < k; ky++) {
            const row = xo + (oy * s + ky) * W + ox * s;
            for (let kx = 0; kx < k; kx++) d[row + kx] += v;
          }
        }
      }
    }
    return dx;
  }
}

export const avgpool2d: LayerKind<AvgPool2dSpec, AvgPool2d> = {
  type: 'avgpool2d',
  token: { pattern: /^avgpool(\d+)(?:s(\d+))?$/, help: 'avgpoolK[sS] (average pool)' },
  parse: (m) => ({ type: 'avgpool2d', size: +m[1], stride: m[2] === undefined ? +m[1] : +m[2] }),
  format: (s) => `avgpool${s.size}${s.stride !== s.size ? `s${s.stride}` : ''}`,
  check: poolChecks,
  takes: 'image',
  outShape: poolOutShape,
  cost: (_s, inShape, out) => ({ params: 0, macs: 0, workspace: sizeOf(out) + sizeOf(inShape) }),
  create: (s, inShape) => new AvgPool2d(inShape, s.size, s.stride),
  toJSON: (l) => ({ size: l.size, stride: l.stride }),
  fromJSON: (r) => ({ type: 'avgpool2d', ...poolFromJSON(r) }),
  version: () => 2,
  onnx(l, g) {
    // No padding, so count_include_pad does not matter; 0 says "the window's own values".
    g.node('AveragePool', [g.input], {
      kernel_shape: { ints: [l.size, l.size] }, strides: { ints: [l.stride, l.stride] }, pads: { ints: [0, 0, 0, 0] },
      count_include_pad: { int: 0 }, ceil_mode: { int: 0 },
    });
  },
  mapLabel: 'avgpool',
};
