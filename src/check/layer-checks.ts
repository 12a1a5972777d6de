/**
 * `kconv check`'s rows for each kind of layer, in one table keyed by the registry's layer
 * types. The table's type is a record over every LayerType, so a kind added to the registry
 * without its rows here does not compile; test/unit/registry.test.ts fails on it too
 * (layerKindsWithoutChecks), for code that is run without the type checker.
 *
 * Each entry builds its layers and returns its rows: a central-difference gradient check
 * (gradcheck.ts) of every gradient the layer computes, and, where a gradient check cannot
 * see a mistake, an exact rule of the layer's own (dropout's scaling and identity when
 * predicting, flatten's order). Convolution and batch normalization have more rows of their
 * own in checks.ts (naive vs im2col vs Winograd; a batch brought to mean 0, variance 1).
 */
import { AvgPool2d } from '../layers/avgpool2d.js';
import { BatchContext } from '../layers/batch-context.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { GlobalAvgPool } from '../layers/globalavgpool.js';
import { shapeText } from '../layers/kind.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { LAYER_TYPES, type LayerType } from '../layers/registry.js';
import { Relu } from '../layers/relu.js';
import { Random } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { gradCheckLayer, randomAwayFromZero, randomDistinct } from './gradcheck.js';
import { GRAD_TOLERANCE, gradRows, row, type CheckRow } from './row.js';

/** Every layer kind's rows, in the order `kconv check` prints them. */
export const LAYER_CHECKS: { readonly [T in LayerType]: () => CheckRow[] } = {
  conv2d: convChecks,
  relu: () => gradRows('relu', gradCheckLayer(new Relu([3, 4, 4]))),
  maxpool2d: () => [
    // Distinct values 0.05 apart: no step changes which value of a window is the largest.
    ...gradRows('maxpool2d 2', gradCheckLayer(new MaxPool2d([2, 6, 7], 2), { input: randomDistinct([2, 2, 6, 7]) })),
    ...gradRows('maxpool2d 3 s2', gradCheckLayer(new MaxPool2d([2, 7, 7], 3, 2), { input: randomDistinct([2, 2, 7, 7]) })),
  ],
  dense: () => gradRows('dense 20→7', gradCheckLayer(new Dense([20], 7))),
  // Batch normalization in training mode: every output depends on every input of its channel.
  batchnorm: () => [
    ...gradRows('batchnorm 2d, 3 channels', gradCheckLayer(new BatchNorm([3, 4, 5]), { batch: 3 }), GRAD_TOLERANCE, 'batch 3, 3×4×5, '),
    ...gradRows('batchnorm 1d, 6 features', gradCheckLayer(new BatchNorm([6]), { batch: 8 }), GRAD_TOLERANCE, 'batch 8, '),
  ],
  avgpool2d: () => [
    ...gradRows('avgpool2d 2', gradCheckLayer(new AvgPool2d([2, 6, 7], 2))),
    ...gradRows('avgpool2d 3 s2', gradCheckLayer(new AvgPool2d([2, 7, 7], 3, 2))),
  ],
  globalavgpool: () => gradRows('gap', gradCheckLayer(new GlobalAvgPool([3, 5, 4]))),
  flatten: () => flattenChecks(),
  dropout: () => dropoutChecks(),
};

/**
 * The layer kinds of the registry that `table` gives no rows for: none for LAYER_CHECKS.
 * (Runs every entry: a few hundred small forward passes.)
 */
export function layerKindsWithoutChecks(table: Partial<Record<LayerType, () => CheckRow[]>> = LAYER_CHECKS): LayerType[] {
  return LAYER_TYPES.filter((type) => (table[type]?.() ?? []).length === 0);
}

/** Convolution's gradients, on the im2col path (two shapes) and through both Winograd algorithms. */
function convChecks(): CheckRow[] {
  const conv = new Conv2d([3, 7, 9], { inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1 });
  const conv1 = new Conv2d([2, 6, 6], { inChannels: 2, outChannels: 3, kernel: 5, stride: 1, padding: 0 });
  const wino2 = new Conv2d([3, 7, 6], { inChannels: 3, outChannels: 5, kernel: 3, stride: 1, padding: 1 });
  wino2.algorithm = 'winograd2';
  const wino4 = new Conv2d([5, 9, 7], { inChannels: 5, outChannels: 3, kernel: 3, stride: 1, padding: 2 });
  wino4.algorithm = 'winograd4';
  return [
    ...gradRows('conv2d 3→4, k3 s2 p1', gradCheckLayer(conv)),
    ...gradRows('conv2d 2→3, k5', gradCheckLayer(conv1)),
    // Linear layers: a large step is exact but for rounding, and F(4×4)'s rounding noise
    // divided by the default step (0.01) would approach the tolerance.
    ...gradRows('conv2d 3→5, k3 p1, Winograd F(2x2,3x3)', gradCheckLayer(wino2, { step: 0.25 })),
    ...gradRows('conv2d 5→3, k3 p2, Winograd F(4x4,3x3)', gradCheckLayer(wino4, { step: 0.25 })),
  ];
}

/** Images of the dropout rows: 100 × 60 values, so the share dropped is measured on 6000. */
const DROPOUT_IMAGES = 100;
/**
 * How far the share of values dropped may be from the rate. Each value is dropped with
 * probability `rate`, so over M values the share has standard deviation √(rate(1 − rate)/M):
 * 0.006 for rate 0.3 and M = 6000. 0.02 is over three of those (and the masks are seeded, so
 * the row gives the same number every run), while a rate read as 1 − rate is off by 0.4.
 */
export const DROPOUT_SHARE_TOLERANCE = 0.02;

/**
 * Dropout's rows (`layer`: rate 0.3 on 3×4×5 values unless a test plants another).
 *
 * Training, y = m ⊙ x with m_i ∈ {0, 1/(1 − rate)}: the mask is a function of (seed, step,
 * the image's row, the layer's index) alone (batch-context.ts), so every forward of one batch
 * draws the same mask and the layer is linear in x; the gradient check nudges x and compares
 * with backward's m ⊙ dy. A gradient check cannot see a wrong m, so three exact rules more:
 * every value is 0 or x/(1 − rate); the share dropped is the rate; predicting, y = x.
 */
export function dropoutChecks(layer: Dropout = new Dropout([3, 4, 5], 0.3, new BatchContext(), 0)): CheckRow[] {
  const { rate } = layer;
  const name = `dropout ${rate}`;
  const grads = gradRows(`${name}, training (a fixed mask)`, gradCheckLayer(layer));
  const x = randomAwayFromZero([DROPOUT_IMAGES, ...layer.inShape], new Random(19));
  const y = layer.forward(x, true).data;
  const keep = 1 / (1 - rate);
  let dropped = 0;
  let scaleError = 0;
  for (let i = 0; i < y.length; i++) {
    const kept = x.data[i] * keep;
    if (y[i] === 0) dropped++;
    else scaleError = Math.max(scaleError, Math.abs(y[i] - kept) / Math.abs(kept));
  }
  const identityError = valuesMoved(x, layer.forward(x, false), x.shape);
  return [
    ...grads,
    row('dropout', `${name}, training: each value 0 or x / (1 − rate)`, scaleError, 1e-6, `${y.length} values; relative error of the kept ones`),
    row('dropout', `${name}, training: the share dropped is the rate`, Math.abs(dropped / y.length - rate), DROPOUT_SHARE_TOLERANCE,
      `${dropped} of ${y.length} values dropped`),
    row('dropout', `${name}, predicting: the identity`, identityError, 0, `${y.length} values, the shape kept`),
  ];
}

/**
 * Flatten's rows (`layer`: 3×4×5 unless a test plants another). Its gradient check passes
 * for any order a forward and its backward agree on, so an exact row more: the values go
 * through unmoved both ways, [N, C, H, W] ↔ [N, C·H·W] in C, H, W order (PyTorch's
 * nn.Flatten, which is what lets dense weights move between kconv and PyTorch unchanged).
 */
export function flattenChecks(layer: Flatten = new Flatten([3, 4, 5])): CheckRow[] {
  const name = `flatten ${shapeText(layer.inShape)}`;
  const grads = gradRows(name, gradCheckLayer(layer));
  // Distinct values, so a value that moved cannot be mistaken for another.
  const x = randomDistinct([2, ...layer.inShape]);
  const forward = valuesMoved(x, layer.forward(x, false), [2, ...layer.outShape]);
  const dy = randomDistinct([2, ...layer.outShape], 6);
  layer.needsInputGrad = true;
  const backward = valuesMoved(dy, layer.backward(dy), [2, ...layer.inShape]);
  return [
    ...grads,
    row('flatten', `${name} → ${shapeText(layer.outShape)}: every value in C, H, W order, both ways`, Math.max(forward, backward), 0,
      `forward ${forward === 0 ? 'exact' : forward}, backward ${backward === 0 ? 'exact' : backward}`),
  ];
}

/** max |out − x| element by element, or Infinity when `out` is missing or not of `shape`. */
function valuesMoved(x: Tensor, out: Tensor | null, shape: readonly number[]): number {
  if (out === null || out.shape.join() !== shape.join() || out.data.length !== x.data.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - x.data[i]));
  return worst;
}
