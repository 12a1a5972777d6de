/**
 * Every kind of layer kconv knows, in one table. The --arch grammar (net/spec.ts),
 * building a network (net/sequential.ts, net/plan.ts), the weights file, the ONNX
 * exporter, `kconv check`, `show` and `info` all work from here. To add a layer: write
 * its file (the class and its LayerKind descriptor), add its spec to LayerSpec and its
 * descriptor to LAYER_KINDS, give it its `kconv check` rows (LAYER_CHECKS in
 * src/check/layer-checks.ts: the build fails without them), and test it.
 */
import { avgpool2d, type AvgPool2dSpec } from './avgpool2d.js';
import { batchnorm, type BatchNormSpec } from './batchnorm.js';
import { conv2d, type Conv2dSpec } from './conv2d.js';
import { dense, type DenseSpec } from './dense.js';
import { dropout, type DropoutSpec } from './dropout.js';
import { flatten, type FlattenSpec } from './flatten.js';
import { globalavgpool, type GlobalAvgPoolSpec } from './globalavgpool.js';
import type { LayerKind } from './kind.js';
import type { Layer } from './layer.js';
import { maxpool2d, type MaxPool2dSpec } from './maxpool2d.js';
import { relu, type ReluSpec } from './relu.js';

/** One layer of an architecture, before shapes are known (a parsed --arch token). */
export type LayerSpec =
  | Conv2dSpec
  | ReluSpec
  | MaxPool2dSpec
  | AvgPool2dSpec
  | GlobalAvgPoolSpec
  | FlattenSpec
  | DropoutSpec
  | DenseSpec
  | BatchNormSpec;

/** The weights file's "type" of each layer. */
export type LayerType = LayerSpec['type'];

/** Descriptor of every layer type, in the order the --arch grammar lists them. */
export const LAYER_KINDS: { readonly [T in LayerType]: LayerKind<Extract<LayerSpec, { type: T }>> } = {
  conv2d,
  relu,
  maxpool2d,
  avgpool2d,
  globalavgpool,
  flatten,
  dense,
  dropout,
  batchnorm,
};

export const LAYER_TYPES: readonly LayerType[] = Object.freeze(Object.keys(LAYER_KINDS) as LayerType[]);

/** The descriptor of a type named in a file or message, or undefined (own keys only: "__proto__" is no type). */
export function findKind(type: unknown): LayerKind | undefined {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(LAYER_KINDS, type)
    ? (LAYER_KINDS[type as LayerType] as LayerKind)
    : undefined;
}

/** The descriptor of a spec or a built layer's type. */
export function kindOf(type: LayerType): LayerKind {
  return LAYER_KINDS[type] as LayerKind;
}

/** The descriptor of a built layer, typed for its own methods. */
export function kindOfLayer<L extends Layer>(layer: L): LayerKind<LayerSpec, L> {
  return LAYER_KINDS[layer.type] as unknown as LayerKind<LayerSpec, L>;
}
