import { BatchBuffer, type Tensor } from '../tensor/tensor.js';
import type { Random } from '../random.js';
import type { Layer, Param } from './layer.js';

/**
 * Inverted dropout: while training, zero each value with probability `rate` and scale
 * the survivors by 1 / (1 − rate), so nothing changes at prediction time, when the
 * layer passes its input through untouched.
 */
export class Dropout implements Layer {
  readonly type = 'dropout';
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** 0 or 1/(1−rate) per value of the last training batch. */
  private readonly mask: BatchBuffer;
  private masked = false;

  constructor(readonly inShape: readonly number[], readonly rate: number, private readonly random: Random) {
    this.outShape = inShape;
    this.out = new BatchBuffer(inShape);
    this.inGrad = new BatchBuffer(inShape);
    this.mask = new BatchBuffer(inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, training: boolean): Tensor {
    this.masked = training && this.rate > 0;
    if (!this.masked) return x;
    const n = x.shape[0];
    const y = this.out.get(n);
    const m = this.mask.get(n).data;
    const keep = 1 / (1 - this.rate);
    const xd = x.data;
    const yd = y.data;
    for (let i = 0; i < xd.length; i++) {
      const s = this.random.next() < this.rate ? 0 : keep;
      m[i] = s;
      yd[i] = xd[i] * s;
    }
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    if (!this.masked) return dy;
    const dx = this.inGrad.get(dy.shape[0]);
    const m = this.mask.get(dy.shape[0]).data;
    const g = dy.data;
    const d = dx.data;
    for (let i = 0; i < g.length; i++) d[i] = g[i] * m[i];
    return dx;
  }
}
