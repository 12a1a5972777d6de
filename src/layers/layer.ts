import type { Tensor } from '../tensor/tensor.js';
import type { LayerSpec, LayerType } from './registry.js';

/** How a parameter starts: He-normal (weights), zeros (biases, β) or ones (γ). */
export type ParamInit = 'he' | 'zeros' | 'ones';

/** A learnable array and the gradient of the loss with respect to it (same layout). */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
  readonly init: ParamInit;
}

/**
 * An array a layer keeps and saves but does not learn by gradient (PyTorch's buffers),
 * such as batch normalization's running statistics.
 */
export interface LayerBuffer {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  /** The smallest valid value, checked when a weights file is read (a variance is ≥ 0). */
  readonly min?: number;
}

/**
 * Sums statistics over the threads that share one batch (data-parallel training), so a
 * layer that normalizes by batch statistics sees the whole batch's, not its slice's (as
 * PyTorch's SyncBatchNorm). `gather` hands this thread's partial in and returns every
 * participating thread's partial, in thread order, the same on every thread; the views
 * stay valid until the layer's next call.
 */
export interface BatchReduce {
  gather(local: Float64Array, length: number): readonly Float64Array[];
}

/**
 * The layer contract (as in PyTorch): a layer owns its parameters and their gradients,
 * knows its per-sample input and output shapes, and maps a whole batch forward and
 * the gradient of the loss backward. `spec` is what it was built from (its --arch token
 * and weights-file record come from there; see registry.ts).
 *
 * forward returns a buffer the layer owns and reuses on the next call; backward writes
 * (overwrites, not accumulates) the parameter gradients and returns dLoss/dInput, or
 * null when `needsInputGrad` is false (the first layer: nobody wants dL/dpixels).
 */
export interface Layer {
  readonly type: LayerType;
  readonly spec: LayerSpec;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad: boolean;
  params(): Param[];
  /** Saved, not learned arrays (running statistics); none for most layers. */
  buffers?(): LayerBuffer[];
  forward(x: Tensor, training: boolean): Tensor;
  backward(dy: Tensor): Tensor | null;
  /** Floats of one thread's partial statistics, for layers that need batch statistics across threads. */
  readonly reduceLength?: number;
  setBatchReduce?(reduce: BatchReduce | null): void;
}

export function param(name: string, shape: readonly number[], value: Float32Array, grad: Float32Array, init: ParamInit = name === 'bias' ? 'zeros' : 'he'): Param {
  return { name, shape, value, grad, init };
}
