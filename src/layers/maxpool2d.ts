import { reluBackward, reluForward } from '../kernels/elementwise.js';
import { allocI32 } from '../kernels/memory.js';
import { maxPoolBackward, maxPoolForward, type PoolShape } from '../kernels/pooling.js';
import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import { needImage, ShapeError, windowOutput, type LayerKind, type RecordReader } from './kind.js';
import type { Layer, Param } from './layer.js';

/** `poolK[sS]`: K×K max-pooling, stride S (default K). */
export interface MaxPool2dSpec {
  type: 'maxpool2d';
  size: number;
  stride: number;
}

/**
 * Max pooling over size×size windows, stride defaulting to size, output size
 * floor((H − size) / stride) + 1. Forward remembers where each maximum came from;
 * backward sends each gradient there (to the first maximum on ties, as in scan order).
 */
export class MaxPool2d implements Layer {
  readonly type = 'maxpool2d';
  readonly spec: MaxPool2dSpec;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** For every output value, the flat index of its input within the batch. */
  private argmax: Int32Array = new Int32Array(0);
  /**
   * Set by fuseForTraining (src/net/fuse.ts) when a ReLU comes just before: training
   * forwards pool the raw maps and clamp the (4× smaller) output at 0, since
   * max(0, max(window)) = max(window of max(0, x)); backward drops the gradient where the
   * output is 0, which is where the ReLU would have. Predicting pools what it is given.
   */
  reluInTraining = false;
  private clamped = false;
  private masked: BatchBuffer | null = null;

  constructor(inShape: readonly number[], readonly size: number, readonly stride: number = size) {
    const [c, h, w] = inShape;
    this.spec = { type: 'maxpool2d', size, stride };
    this.inShape = [c, h, w];
    this.outShape = [c, windowOutput(h, size, stride), windowOutput(w, size, stride)];
    this.out = new BatchBuffer(this.outShape);
    this.inGrad = new BatchBuffer(this.inShape);
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const n = x.shape[0];
    const y = this.out.get(n);
    // In the kernel arena, so the wasm kernel can write it in place.
    if (this.argmax.length < y.data.length) this.argmax = allocI32(y.data.length);
    maxPoolForward(this.shape(n), x.data, y.data, this.argmax);
    this.clamped = training && this.reluInTraining;
    if (this.clamped) reluForward(y.data, y.data, y.data.length);
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    const n = dy.shape[0];
    const dx = this.inGrad.get(n);
    let g = dy.data;
    if (this.clamped) {
      this.masked ??= new BatchBuffer(this.outShape);
      g = this.masked.get(n).data;
      reluBackward(this.out.get(n).data, dy.data, g, g.length);
    }
    // dx = 0, then each gradient added at its argmax (+= : overlapping windows, stride <
    // size, can pick the same input twice).
    maxPoolBackward(this.shape(n), g, this.argmax, dx.data);
    return dx;
  }

  /** The kernels' view of a batch of n: n·C independent planes. */
  private shape(n: number): PoolShape {
    const [C, H, W] = this.inShape;
    const [, OH, OW] = this.outShape;
    return { planes: n * C, H, W, k: this.size, stride: this.stride, OH, OW };
  }
}

/** The --arch checks and shape rule every pooling layer shares (max and average). */
export const poolChecks = (s: { size: number; stride: number }): string | null =>
  s.size < 1 ? 'pool size must be at least 1' : s.stride < 1 ? 'pool stride must be at least 1' : null;

export function poolOutShape(s: { size: number; stride: number }, inShape: readonly number[]): number[] {
  const [c, h, w] = needImage(inShape);
  if (s.size > h || s.size > w) {
    throw new ShapeError(`a ${s.size}×${s.size} pooling window does not fit the ${c}×${h}×${w} input: use a smaller window or fewer layers before it`);
  }
  return [c, windowOutput(h, s.size, s.stride), windowOutput(w, s.size, s.stride)];
}

/** Reads size and stride (stride defaults to size) from a weights-file record. */
export function poolFromJSON(r: RecordReader): { size: number; stride: number } {
  const size = r.int('size', 1);
  return { size, stride: r.has('stride') ? r.int('stride', 1) : size };
}

export const maxpool2d: LayerKind<MaxPool2dSpec, MaxPool2d> = {
  type: 'maxpool2d',
  token: { pattern: /^pool(\d+)(?:s(\d+))?$/, help: 'poolK[sS] (max-pool)' },
  parse: (m) => ({ type: 'maxpool2d', size: +m[1], stride: m[2] === undefined ? +m[1] : +m[2] }),
  format: (s) => `pool${s.size}${s.stride !== s.size ? `s${s.stride}` : ''}`,
  check: poolChecks,
  takes: 'image',
  outShape: poolOutShape,
  // output, its argmax indices, input gradient
  cost: (_s, inShape, out) => ({ params: 0, macs: 0, workspace: 2 * sizeOf(out) + sizeOf(inShape) }),
  create: (s, inShape) => new MaxPool2d(inShape, s.size, s.stride),
  toJSON: (l) => ({ size: l.size, stride: l.stride }),
  fromJSON: (r) => ({ type: 'maxpool2d', ...poolFromJSON(r) }),
  version: () => 1,
  onnx(l, g) {
    // ceil_mode 0 and no padding: floor((H − size) / stride) + 1, as kconv.
    g.node('MaxPool', [g.input], { kernel_shape: { ints: [l.size, l.size] }, strides: { ints: [l.stride, l.stride] }, pads: { ints: [0, 0, 0, 0] } });
  },
  mapLabel: 'pool',
};
