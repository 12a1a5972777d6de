import type { LayerCost, Shape } from '../layers/kind.js';
import { ShapeError, shapeText } from '../layers/kind.js';
import { kindOf, type LayerSpec } from '../layers/registry.js';
import { sizeOf } from '../tensor/tensor.js';

/**
 * How large a network kconv builds. Far above any net here (the `wide` and `bn` presets
 * have ~0.47 M parameters, ~0.9 M floats of working memory per image, 25,088 values in
 * their largest layer), low enough that a typo or a hostile file is refused with a clear
 * message instead of allocating gigabytes.
 */
export const LIMITS = {
  /** Values one layer outputs per image (4 MiB of float32). */
  layerValues: 2 ** 20,
  /** Floats per image all layers together allocate for a training batch (activations, gradients, patch matrices): 32 MiB. */
  workspace: 2 ** 23,
  /** Learnable parameters of the whole network (16 MiB of float32). */
  params: 2 ** 22,
  layers: 1000,
} as const;

/** One layer of a network, shapes inferred, before anything is allocated. */
export interface LayerPlan {
  spec: LayerSpec;
  /** Index of the spec it came from (for an implied flatten, the dense layer's). */
  at: number;
  /** A flatten nobody wrote: --arch implies it before the first dense layer. */
  implied: boolean;
  inShape: Shape;
  outShape: Shape;
  /** The layer after it (a conv or dense layer before batchnorm has no bias). */
  next: LayerSpec | undefined;
  cost: LayerCost;
}

/** A network that cannot be built; `at` is the index of the spec at fault. */
export class PlanError extends Error {
  constructor(readonly at: number, message: string) {
    super(message);
  }
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Infers every layer's shape from the input shape, checks each spec's numbers and the
 * size bounds (LIMITS), and, with `impliedFlatten`, inserts the flatten a flat layer needs
 * after images. Allocates nothing; throws PlanError naming the spec at fault.
 */
export function planNetwork(specs: readonly LayerSpec[], inputShape: Shape, opts: { impliedFlatten: boolean }): LayerPlan[] {
  if (specs.length > LIMITS.layers) throw new PlanError(specs.length, `${count(specs.length)} layers, more than kconv allows (${count(LIMITS.layers)})`);
  const plans: Omit<LayerPlan, 'next' | 'cost'>[] = [];
  let shape = inputShape;
  specs.forEach((spec, at) => {
    if (kindOf(spec.type).takes === 'flat' && shape.length !== 1 && opts.impliedFlatten) {
      const flat = [sizeOf(shape)];
      plans.push({ spec: { type: 'flatten' }, at, implied: true, inShape: shape, outShape: flat });
      shape = flat;
    }
    const outShape = layerOutShape(spec, shape, at);
    plans.push({ spec, at, implied: false, inShape: shape, outShape });
    shape = outShape;
  });
  let params = 0;
  let workspace = 0;
  return plans.map((p, i) => {
    const next = plans[i + 1]?.spec;
    const cost = kindOf(p.spec.type).cost(p.spec as never, p.inShape, p.outShape, next);
    params += cost.params;
    workspace += cost.workspace;
    if (!(params <= LIMITS.params)) {
      throw new PlanError(p.at, `the network would have more than ${count(LIMITS.params)} parameters (${count(cost.params)} in this layer): use fewer filters or outputs`);
    }
    if (!(workspace <= LIMITS.workspace)) {
      throw new PlanError(p.at, `the network would need more than ${count(LIMITS.workspace)} floats of working memory per image (${count(cost.workspace)} in this layer): use fewer filters, or pool earlier`);
    }
    return { ...p, next, cost };
  });
}

/**
 * One layer's output shape: its numbers checked (the same rule as the --arch grammar),
 * its shape rule applied, its output bounded. Throws PlanError(at, …).
 */
export function layerOutShape(spec: LayerSpec, inShape: Shape, at: number): Shape {
  const kind = kindOf(spec.type);
  const problem = kind.check(spec as never);
  if (problem) throw new PlanError(at, problem);
  let outShape: Shape;
  try {
    outShape = kind.outShape(spec as never, inShape);
  } catch (error) {
    if (error instanceof ShapeError) throw new PlanError(at, error.message);
    throw error;
  }
  const values = sizeOf(outShape);
  if (!(values <= LIMITS.layerValues)) {
    throw new PlanError(at, `its output, ${shapeText(outShape)} = ${count(values)} values per image, is more than kconv allows (${count(LIMITS.layerValues)}): use fewer filters or outputs, or more pooling before it`);
  }
  return outShape;
}
