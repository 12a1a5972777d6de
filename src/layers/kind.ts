/**
 * What a kind of layer declares, beside its class, so that everything else can work from
 * the registry alone (as ConvNetJS's toJSON/fromJSON and PyTorch's configuration on the
 * module): its --arch token, its shape rule, its cost, how it is built, saved, read back
 * and validated, and the ONNX nodes it becomes. Adding a layer = its file (class and
 * descriptor), one line in registry.ts, its `kconv check` rows (src/check/layer-checks.ts),
 * and its tests.
 */
import type { BatchContext } from './batch-context.js';
import type { Layer } from './layer.js';
import type { LayerSpec } from './registry.js';

export type Shape = readonly number[];

/** A shape rule that cannot be met; the message says why (the caller names the layer). */
export class ShapeError extends Error {}

/** What building a layer sees besides its spec and input shape. */
export interface BuildContext {
  /** The layer after this one: a conv or dense layer followed by batchnorm has no bias (it would be cancelled). */
  readonly next: LayerSpec | undefined;
  /** Which images the training batch holds (dropout keys its masks by them), shared by the network's layers. */
  readonly batch: BatchContext;
  /** The layer's position in the network, from 0. */
  readonly index: number;
}

/** What a layer costs per image, for `kconv info` and the size bounds. */
export interface LayerCost {
  /** Learnable parameters, counted as PyTorch's parameters() counts them (buffers not included). */
  params: number;
  /** Multiply-adds per image when predicting. */
  macs: number;
  /** Floats per image the layer allocates for a training batch (output, input gradient, scratch). */
  workspace: number;
}

/**
 * Reads a layer's fields from a weights-file record: own properties only (a key such as
 * __proto__ never reaches a prototype), each fault one line naming the field.
 */
export interface RecordReader {
  /** An integer from `min` to 2^31 − 1. */
  int(key: string, min: number): number;
  /** A finite number accepted by `ok` (described by `what`, e.g. "a number > 0"). */
  number(key: string, ok: (v: number) => boolean, what: string): number;
  /** Whether the record has the key (as its own property). */
  has(key: string): boolean;
  fail(what: string): never;
}

export type OnnxAttribute = { int: number } | { ints: readonly number[] } | { float: number };

/** Where a layer writes its ONNX nodes (export/onnx.ts implements it). */
export interface OnnxEmitter {
  /** The tensor the layer reads: the previous node's output. */
  readonly input: string;
  /** A float32 initializer named `<layer>.<suffix>`; returns its name. */
  constant(suffix: string, dims: readonly number[], values: ArrayLike<number>): string;
  /** Appends a node reading `inputs`; its output is the next node's (or layer's) input. */
  node(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>): void;
}

export interface LayerKind<S extends LayerSpec = LayerSpec, L extends Layer = Layer> {
  readonly type: S['type'];
  /** The --arch token: anchored pattern (matched against the lower-cased token) and its help text. */
  readonly token: { readonly pattern: RegExp; readonly help: string };
  parse(m: RegExpMatchArray): S;
  /** The canonical token (the inverse of parse). */
  format(spec: S): string;
  /** What is wrong with the spec's own numbers, or null. The same rule for --arch and weights files. */
  check(spec: S): string | null;
  /**
   * The input it takes. When a net is built from --arch, a `flat` layer given an image gets
   * the flatten it needs in front of it (implied); a weights file spells every layer out.
   */
  readonly takes: 'image' | 'flat' | 'any';
  /** The per-image output shape for this input, or a ShapeError saying why it cannot work. */
  outShape(spec: S, inShape: Shape): Shape;
  cost(spec: S, inShape: Shape, outShape: Shape, next: LayerSpec | undefined): LayerCost;
  create(spec: S, inShape: Shape, ctx: BuildContext): L;
  /**
   * The layer's settings as a weights-file record, after "type"; its arrays (params(),
   * then buffers(), by name) follow them, added by the weights file.
   */
  toJSON(layer: L): Record<string, number>;
  /** Reads the settings back, checked against the input shape; the arrays are read after, by name. */
  fromJSON(record: RecordReader, inShape: Shape): S;
  /** The weights-file version a reader needs for this record (2 for layers kconv 0.1 could not read). */
  version(layer: L): number;
  /** The ONNX nodes it becomes when predicting (none for dropout). */
  onnx(layer: L, g: OnnxEmitter): void;
  /**
   * kconv show: after a conv, a layer with a label is drawn as a row of maps "after <label>";
   * null: drawn through (dropout); undefined: the conv's chain of maps ends here.
   */
  readonly mapLabel?: string | null;
}

/** "8×24×24" or "288": a per-image shape in messages. */
export function shapeText(shape: Shape): string {
  return shape.join('×');
}

/** Throws unless the input is an image C×H×W. */
export function needImage(inShape: Shape): [number, number, number] {
  if (inShape.length !== 3) {
    throw new ShapeError(`needs an image input (channels×height×width) but gets a flat vector of ${inShape[0]} values: image layers must come before flatten, gap and dense layers`);
  }
  return [inShape[0], inShape[1], inShape[2]];
}

/** Output size of a sliding window: floor((n + 2·padding − window) / stride) + 1. */
export function windowOutput(n: number, window: number, stride: number, padding = 0): number {
  return Math.floor((n + 2 * padding - window) / stride) + 1;
}

/** A conv or dense layer right before batch normalization has no bias: the normalization would subtract it again. */
export function hasBiasBefore(next: LayerSpec | undefined): boolean {
  return next?.type !== 'batchnorm';
}
