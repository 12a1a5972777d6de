import { SpecError } from '../errors.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import type { Layer, Param } from '../layers/layer.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Relu } from '../layers/relu.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatLayer, type LayerSpec } from './spec.js';

export const INPUT_SHAPE: readonly number[] = [1, 28, 28];

/**
 * A network is a sequence of layers. Building one from specs infers every layer's
 * shape from the input shape, inserts the flatten a dense layer needs after images,
 * and rejects stacks that cannot work, naming the layer at fault.
 */
export class Sequential {
  readonly layers: Layer[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** The stream dropout masks draw from (its own, so masks never disturb initialisation). */
  readonly random: Random;

  constructor(specs: readonly LayerSpec[], inputShape: readonly number[] = INPUT_SHAPE, seed = 1) {
    if (specs.length === 0) throw new SpecError('architecture has no layers');
    this.random = new Random(seed ^ 0x5bd1e995);
    const dropoutRandom = this.random;
    const layers: Layer[] = [];
    let shape = inputShape;
    specs.forEach((spec, i) => {
      const where = `layer ${i + 1} (${formatLayer(spec)})`;
      const dims = `[${shape.join('×')}]`;
      const needImage = () => {
        if (shape.length !== 3) throw new SpecError(`${where} needs an image input (channels×height×width) but gets the flat vector ${dims}: put it before the first dense layer`);
      };
      let layer: Layer;
      switch (spec.type) {
        case 'conv2d': {
          needImage();
          const [c, h, w] = shape;
          if (spec.kernel > h + 2 * spec.padding || spec.kernel > w + 2 * spec.padding) {
            throw new SpecError(`${where}: a ${spec.kernel}×${spec.kernel} kernel does not fit the ${c}×${h}×${w} input${spec.padding ? ` padded by ${spec.padding}` : ''}: use a smaller kernel, more padding, or less pooling before it`);
          }
          layer = new Conv2d(shape, { inChannels: c, outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding });
          break;
        }
        case 'maxpool2d': {
          needImage();
          const [c, h, w] = shape;
          if (spec.size > h || spec.size > w) {
            throw new SpecError(`${where}: a ${spec.size}×${spec.size} pooling window does not fit the ${c}×${h}×${w} input: use a smaller window or fewer layers before it`);
          }
          layer = new MaxPool2d(shape, spec.size, spec.stride);
          break;
        }
        case 'relu':
          layer = new Relu(shape);
          break;
        case 'flatten':
          layer = new Flatten(shape);
          break;
        case 'dropout':
          layer = new Dropout(shape, spec.rate, dropoutRandom);
          break;
        case 'dense':
          if (shape.length !== 1) {
            const flatten = new Flatten(shape);
            layers.push(flatten);
            shape = flatten.outShape;
          }
          layer = new Dense(shape, spec.outFeatures);
          break;
      }
      layers.push(layer);
      shape = layer.outShape;
    });
    if (shape.length !== 1) {
      throw new SpecError(`the last layer gives images [${shape.join('×')}], not class scores: end the architecture with a dense layer, e.g. dense10`);
    }
    // The first layer's input is the pixels: no gradient needed there.
    let firstWithParams = true;
    for (const layer of layers) {
      layer.needsInputGrad = !firstWithParams;
      if (layer.params().length > 0) firstWithParams = false;
    }
    this.layers = layers;
    this.inputShape = inputShape;
    this.outputShape = shape;
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
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
  if (layer instanceof Conv2d) return { type: 'conv2d', outChannels: layer.outChannels, kernel: layer.kernel, stride: layer.stride, padding: layer.padding };
  if (layer instanceof MaxPool2d) return { type: 'maxpool2d', size: layer.size, stride: layer.stride };
  if (layer instanceof Dense) return { type: 'dense', outFeatures: layer.outFeatures };
  if (layer instanceof Dropout) return { type: 'dropout', rate: layer.rate };
  if (layer instanceof Relu) return { type: 'relu' };
  return { type: 'flatten' };
}
