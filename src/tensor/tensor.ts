import { allocF32 } from '../kernels/memory.js';

/** A batch: NCHW (or N×features) float32 values with an explicit shape. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new RangeError(`tensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { data, shape };
}

export function zeros(shape: readonly number[]): Tensor {
  return { data: allocF32(sizeOf(shape)), shape };
}

/**
 * A reusable batch buffer for one per-sample shape. `get(n)` hands back the same
 * Tensor for the same batch size every time, so training allocates only when it sees
 * a new batch size (the short last batch of an epoch), never per batch.
 */
export class BatchBuffer {
  private storage: Float32Array = allocF32(0);
  private capacity = 0;
  private readonly views = new Map<number, Tensor>();
  readonly perSample: number;

  constructor(readonly sampleShape: readonly number[]) {
    this.perSample = sizeOf(sampleShape);
  }

  get(n: number): Tensor {
    let t = this.views.get(n);
    if (t) return t;
    if (n > this.capacity) {
      this.storage = allocF32(n * this.perSample);
      this.capacity = n;
      this.views.clear();
    }
    t = { data: this.storage.subarray(0, n * this.perSample), shape: [n, ...this.sampleShape] };
    this.views.set(n, t);
    return t;
  }
}

/** A same-data view under another shape (flatten), cached per batch size like BatchBuffer. */
export class ReshapeView {
  private readonly views = new WeakMap<Float32Array, Tensor>();
  constructor(readonly sampleShape: readonly number[]) {}

  of(x: Tensor): Tensor {
    let t = this.views.get(x.data);
    if (!t) {
      t = { data: x.data, shape: [x.shape[0], ...this.sampleShape] };
      this.views.set(x.data, t);
    }
    return t;
  }
}

/** Index of the largest of values[offset .. offset+length), the first on ties: a row's predicted class. */
export function argMax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
