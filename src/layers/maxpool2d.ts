import { allocI32 } from '../kernels/memory.js';
import { maxPoolBackward, maxPoolForward, type PoolShape } from '../kernels/pooling.js';
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
    const y = this.out.get(n);
    // In the kernel arena, so the wasm kernel can write it in place.
    if (this.argmax.length < y.data.length) this.argmax = allocI32(y.data.length);
    maxPoolForward(this.shape(n), x.data, y.data, this.argmax);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const n = dy.shape[0];
    const dx = this.inGrad.get(n);
    // dx = 0, then each gradient added at its argmax (+= : overlapping windows, stride <
    // size, can pick the same input twice).
    maxPoolBackward(this.shape(n), dy.data, this.argmax, dx.data);
    return dx;
  }

  /** The kernels' view of a batch of n: n·C independent planes. */
  private shape(n: number): PoolShape {
    const [C, H, W] = this.inShape;
    const [, OH, OW] = this.outShape;
    return { planes: n * C, H, W, k: this.size, stride: this.stride, OH, OW };
  }
}
