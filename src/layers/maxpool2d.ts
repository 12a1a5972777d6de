import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import type { Layer, Param } from './layer.js';

/**
 * Max pooling over size×size windows, stride defaulting to size, output size
 * floor((H − size) / stride) + 1. Forward remembers where each maximum came from;
 * backward sends each gradient there (to the first maximum on ties, as in scan order).
 */
export class MaxPool2d implements Layer {
  readonly type = 'maxpool2d';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** For every output value, the flat index of its input within the batch. */
  private argmax: Int32Array = new Int32Array(0);

  constructor(inShape: readonly number[], readonly size: number, readonly stride: number = size) {
    const [c, h, w] = inShape;
    this.inShape = [c, h, w];
    this.outShape = [c, Math.floor((h - size) / stride) + 1, Math.floor((w - size) / stride) + 1];
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(this.inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, _training: boolean): Tensor {
    const n = x.shape[0];
    const [C, H, W] = this.inShape;
    const [, OH, OW] = this.outShape;
    const y = this.out.get(n);
    if (this.argmax.length < y.data.length) this.argmax = new Int32Array(y.data.length);
    const xd = x.data;
    const yd = y.data;
    const am = this.argmax;
    const s = this.stride;
    const k = this.size;
    let o = 0;
    for (let plane = 0; plane < n * C; plane++) {
      const base = plane * H * W;
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let best = base + oy * s * W + ox * s;
          let bestVal = xd[best];
          for (let ki = 0; ki < k; ki++) {
            const row = base + (oy * s + ki) * W + ox * s;
            for (let kj = 0; kj < k; kj++) {
              const v = xd[row + kj];
              if (v > bestVal) {
                bestVal = v;
                best = row + kj;
              }
            }
          }
          yd[o] = bestVal;
          am[o++] = best;
        }
      }
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const dx = this.inGrad.get(dy.shape[0]);
    dx.data.fill(0);
    const g = dy.data;
    const am = this.argmax;
    const d = dx.data;
    // += because overlapping windows (stride < size) can pick the same input twice.
    for (let o = 0; o < g.length; o++) d[am[o]] += g[o];
    return dx;
  }
}
