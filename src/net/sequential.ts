import { SpecError } from '../errors.js';
import type { BatchReduce, Layer, LayerBuffer, Param } from '../layers/layer.js';
import { kindOf } from '../layers/registry.js';
import { Random } from '../random.js';
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
  /** The stream dropout masks draw from (its own, so masks never disturb initialisation). */
  readonly random: Random;

  constructor(specs: readonly LayerSpec[], inputShape: readonly number[] = INPUT_SHAPE, seed = 1) {
    const plan = planSpecs(specs, inputShape);
    this.random = new Random(seed ^ 0x5bd1e995);
    const layers = plan.map((p) => kindOf(p.spec.type).create(p.spec as never, p.inShape, { next: p.next, random: this.random }));
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
    for (const layer of this.layers) t = layer.forward(t, training);
    return t;
  }

  /** Backpropagates dLoss/dOutput through every layer, filling parameter gradients. */
  backward(dy: Tensor): void {
    let g: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) g = this.layers[i].backward(g);
  }
}

/** The spec a built layer came from (a flatten that was implied comes back explicit). */
export function layerSpec(layer: Layer): LayerSpec {
  return layer.spec;
}
