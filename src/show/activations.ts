import { PIXELS } from '../data/index.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { CLASSES, inputAffine, type InputSpec } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import { argMax, type Tensor } from '../tensor/tensor.js';

/** One layer's output for one image: a copy, C×H×W (or a flat vector after flatten). */
export interface LayerOutput {
  /** Position in net.layers. */
  index: number;
  layer: Layer;
  /** Per-image shape, e.g. [8, 24, 24]. */
  shape: readonly number[];
  data: Float32Array;
}

export interface Activations {
  /** The network's input: (pixel / scale − mean) / std. */
  input: Float32Array;
  /** Every layer's output, in order. */
  outputs: LayerOutput[];
  /** Softmax probabilities of the digits. */
  probs: Float32Array;
  /** The most probable digit. */
  predicted: number;
}

/** One softmax for every call: its buffer lives in the kernel arena, which never frees (kconv serve calls this per request). */
let softmax: SoftmaxCrossEntropy | undefined;

/**
 * Runs one image through the network layer by layer (as when predicting: dropout off)
 * and keeps a copy of every layer's output; layers reuse their output buffers, so the
 * copies are what stays valid.
 */
export function activations(net: Sequential, input: InputSpec, pixels: Uint8Array): Activations {
  if (pixels.length !== PIXELS) throw new RangeError(`activations: expected ${PIXELS} pixels, got ${pixels.length}`);
  // The same arithmetic as training's fillBatch, so the input is bit for bit the one predict sees.
  const { a, b } = inputAffine(input);
  const x = new Float32Array(PIXELS);
  for (let j = 0; j < PIXELS; j++) x[j] = pixels[j] * a + b;
  const outputs: LayerOutput[] = [];
  let t: Tensor = { data: x, shape: [1, ...net.inputShape] };
  net.layers.forEach((layer, index) => {
    t = layer.forward(t, false);
    outputs.push({ index, layer, shape: t.shape.slice(1), data: Float32Array.from(t.data) });
  });
  softmax ??= new SoftmaxCrossEntropy(CLASSES);
  const probs = Float32Array.from(softmax.softmax(t).data);
  return { input: Float32Array.from(x), outputs, probs, predicted: argMax(probs) };
}

/** The conv layers of a net, in order, with their positions. */
export function convLayers(net: Sequential): { index: number; conv: Conv2d }[] {
  const found: { index: number; conv: Conv2d }[] = [];
  net.layers.forEach((layer, index) => {
    if (layer.type === 'conv2d') found.push({ index, conv: layer as Conv2d });
  });
  return found;
}
