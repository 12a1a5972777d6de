import { SpecError } from '../errors.js';
import type { BatchReduce, Layer, LayerBuffer, Param } from '../layers/layer.js';
import { kindOf } from '../layers/registry.js';
import { BatchContext } from '../layers/batch-context.js';
import type { Tensor } from '../tensor/tensor.js';
import { fuseForTraining } from './fuse.js';
import { INPUT_SHAPE } from './input.js';
import { planNetwork, PlanError, type LayerPlan } from './plan.js';
import { formatLayer, type LayerSpec } from './spec.js';

export { INPUT_SHAPE } from './input.js';

/**
 * Plans a network from --arch specs (implied flatten, shapes, size bounds), throwing a
 * SpecError that names the layer as the user wrote it, e.g. `layer 5 (conv8k5): …`.
 */
export function planSpecs(specs: readonly LayerSpec[], inputShape: readonly number[] = INPUT_SHAPE): LayerPlan[] {
  if (specs.length === 0) throw new SpecError('architecture has no layers');
  try {
    return planNetwork(specs, inputShape, { impliedFlatten: true });
  } catch (error) {
    if (error instanceof PlanError) {
      const spec = specs[error.at];
      throw new SpecError(spec ? `layer ${error.at + 1} (${formatLayer(spec)}): ${error.message}` : `architecture: ${error.message}`);
    }
    throw error;
  }
}

/**
 * A network is a sequence of layers. Building one from specs infers every layer's
 * shape from the input shape, inserts the flatten a dense layer needs after images,
 * and rejects stacks that cannot work, naming the layer at fault (see plan.ts).
 */
export class Sequential {
  readonly layers: Layer[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Which images the training batch holds: set by the gradient step before forward (dropout keys its masks by it). */
  readonly batch = new BatchContext();
  /** Leading layers kept fixed while training (see freeze): run as when predicting, never backpropagated. */
  private frozenLayers = 0;

  constructor(specs: readonly LayerSpec[], inputShape: readonly number[] = INPUT_SHAPE) {
    const plan = planSpecs(specs, inputShape);
    const layers = plan.map((p, index) => kindOf(p.spec.type).create(p.spec as never, p.inShape, { next: p.next, batch: this.batch, index }));
    const shape = plan[plan.length - 1].outShape;
    if (shape.length !== 1) {
      throw new SpecError(`the last layer gives images [${shape.join('×')}], not class scores: end the architecture with a dense layer, e.g. dense10`);
    }
    // The first layer's input is the pixels: no gradient needed there.
    let firstWithParams = true;
    for (const layer of layers) {
      layer.needsInputGrad = !firstWithParams;
      if (layer.params().length > 0) firstWithParams = false;
    }
    fuseForTraining(layers);
    this.layers = layers;
    this.inputShape = inputShape;
    this.outputShape = shape;
  }

  /**
   * Keeps the first `count` layers that have parameters fixed (fine-tuning): the layers up
   * to the last of them run as when predicting (batch normalization by its running
   * statistics, which stay as they are; no dropout), and backward stops at the first
   * layer that learns, which then computes no input gradient. Returns how many of the
   * parameters (in params() order) are frozen, for the optimizer to leave alone.
   */
  freeze(count: number): number {
    const withParams = this.layers.filter((l) => l.params().length > 0);
    if (!Number.isInteger(count) || count < 0 || (count > 0 && count >= withParams.length)) {
      throw new RangeError(`freeze: ${count} of ${withParams.length} layers with parameters (at least one must learn)`);
    }
    this.frozenLayers = count === 0 ? 0 : this.layers.indexOf(withParams[count - 1]) + 1;
    let firstWithParams = true;
    this.layers.forEach((layer, i) => {
      layer.needsInputGrad = i >= this.frozenLayers && !firstWithParams;
      if (i >= this.frozenLayers && layer.params().length > 0) firstWithParams = false;
    });
    fuseForTraining(this.layers, true, this.frozenLayers);
    return withParams.slice(0, count).reduce((n, l) => n + l.params().length, 0);
  }

  /** How many leading layers freeze() keeps fixed (0: none). */
  get frozen(): number {
    return this.frozenLayers;
  }

  /** Every layer's spec, flattens made explicit: builds an identical replica. */
  specs(): LayerSpec[] {
    return this.layers.map((l) => l.spec);
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  /** Saved arrays that are not learned (running statistics), in layer order. */
  buffers(): LayerBuffer[] {
    return this.layers.flatMap((l) => l.buffers?.() ?? []);
  }

  /** Every array a replica must share to compute what this network computes: parameters, then buffers. */
  state(): Float32Array[] {
    return [...this.params().map((p) => p.value), ...this.buffers().map((b) => b.value)];
  }

  /** Floats of the largest partial any layer sums across threads (0: none does). */
  reduceLength(): number {
    return Math.max(0, ...this.layers.map((l) => l.reduceLength ?? 0));
  }

  /** Lets layers that normalize by batch statistics sum them across threads (null: this thread alone). */
  setBatchReduce(reduce: BatchReduce | null): void {
    for (const layer of this.layers) layer.setBatchReduce?.(reduce);
  }

  forward(x: Tensor, training: boolean): Tensor {
    let t = x;
    for (let i = 0; i < this.layers.length; i++) t = this.layers[i].forward(t, training && i >= this.frozenLayers);
    return t;
  }

  /** Backpropagates dLoss/dOutput through every layer, filling parameter gradients. */
  backward(dy: Tensor): void {
    let g: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= this.frozenLayers && g; i--) g = this.layers[i].backward(g);
  }
}

/** The spec a built layer came from (a flatten that was implied comes back explicit). */
export function layerSpec(layer: Layer): LayerSpec {
  return layer.spec;
}
