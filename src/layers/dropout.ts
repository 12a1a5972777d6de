import { BatchBuffer, sizeOf, type Tensor } from '../tensor/tensor.js';
import { dropoutMask } from '../kernels/dropout-mask.js';
import { mulFloats } from '../kernels/elementwise.js';
import { mixSeed } from '../random.js';
import type { BatchContext } from './batch-context.js';
import type { LayerKind } from './kind.js';
import type { Layer, Param } from './layer.js';

/** `dropoutR`: rate R, 0 ≤ R < 1. */
export interface DropoutSpec {
  type: 'dropout';
  rate: number;
}

/**
 * Inverted dropout: while training, zero each value with probability `rate` and scale
 * the survivors by 1 / (1 − rate), so nothing changes at prediction time, when the
 * layer passes its input through untouched.
 *
 * Each image's mask is a function of (seed, step, the image's dataset row, this layer's
 * index) alone, read from the batch context (batch-context.ts): the generator (mulberry32)
 * is reseeded per image with a hash of those four, so the mask does not depend on which
 * thread's slice, or which position in it, the image has. Drawing and applying a mask is
 * one SIMD pass (src/kernels/dropout-mask.ts: mulberry32's draws from a fresh seed are a
 * hash of their position, four computed at once), bit for bit the value-by-value loop.
 */
export class Dropout implements Layer {
  readonly type = 'dropout';
  readonly spec: DropoutSpec;
  readonly outShape: readonly number[];
  needsInputGrad = true;
  private readonly out: BatchBuffer;
  private readonly inGrad: BatchBuffer;
  /** 0 or 1/(1−rate) per value of the last training batch. */
  private readonly mask: BatchBuffer;
  private masked = false;

  /** `index` is the layer's position in its network; `batch` says which images the training batch holds. */
  constructor(readonly inShape: readonly number[], readonly rate: number, private readonly batch: BatchContext, readonly index: number) {
    this.spec = { type: 'dropout', rate };
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
    const per = x.data.length / n;
    // Each image's mask from its own seed (mulberry32 reseeded per image), drawn and
    // applied in one pass (src/kernels/dropout-mask.ts).
    for (let image = 0; image < n; image++) {
      dropoutMask(x.data, image * per, y.data, image * per, m, image * per, per, this.maskSeed(this.batch.row(image)), this.rate);
    }
    return y;
  }

  /** The seed of the mask of dataset row `row` at the batch's step. */
  maskSeed(row: number): number {
    const { seed, step } = this.batch;
    return mixSeed(mixSeed(mixSeed(seed, step), row), this.index);
  }

  backward(dy: Tensor): Tensor | null {
    if (!this.needsInputGrad) return null;
    if (!this.masked) return dy;
    const dx = this.inGrad.get(dy.shape[0]);
    mulFloats(dy.data, this.mask.get(dy.shape[0]).data, dx.data, dy.data.length);
    return dx;
  }
}

export const dropout: LayerKind<DropoutSpec, Dropout> = {
  type: 'dropout',
  token: { pattern: /^dropout(\d*\.?\d+)$/, help: 'dropoutR (0 ≤ R < 1)' },
  parse: (m) => ({ type: 'dropout', rate: +m[1] }),
  format: (s) => `dropout${s.rate}`,
  check: (s) => (s.rate >= 0 && s.rate < 1 ? null : 'rate must be at least 0 and below 1'),
  takes: 'any',
  outShape: (_s, inShape) => inShape,
  cost: (_s, inShape) => ({ params: 0, macs: 0, workspace: 3 * sizeOf(inShape) }),
  create: (s, inShape, ctx) => new Dropout(inShape, s.rate, ctx.batch, ctx.index),
  toJSON: (l) => ({ rate: l.rate }),
  fromJSON: (r) => ({ type: 'dropout', rate: r.number('rate', (v) => v >= 0 && v < 1, 'a number from 0 to below 1') }),
  version: () => 1,
  onnx: () => undefined, // the identity when predicting
  mapLabel: null,
};
