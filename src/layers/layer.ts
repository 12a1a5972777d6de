import type { Tensor } from '../tensor/tensor.js';

/** A learnable array and the gradient of the loss with respect to it (same layout). */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float32Array;
}

/**
 * The layer contract (as in PyTorch): a layer owns its parameters and their gradients,
 * knows its per-sample input and output shapes, and maps a whole batch forward and
 * the gradient of the loss backward.
 *
 * forward returns a buffer the layer owns and reuses on the next call; backward writes
 * (overwrites, not accumulates) the parameter gradients and returns dLoss/dInput, or
 * null when `needsInputGrad` is false (the first layer: nobody wants dL/dpixels).
 */
export interface Layer {
  readonly type: string;
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  needsInputGrad: boolean;
  params(): Param[];
  forward(x: Tensor, training: boolean): Tensor;
  backward(dy: Tensor): Tensor | null;
}

export function param(name: string, shape: readonly number[], value: Float32Array, grad: Float32Array): Param {
  return { name, shape, value, grad };
}
