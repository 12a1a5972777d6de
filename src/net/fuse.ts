import { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Relu } from '../layers/relu.js';

/**
 * Folds each ReLU into a neighbour for training, saving a pass over its maps forward and
 * one backward: into a Winograd convolution before it (its output transform applies the
 * ReLU, its gradient copy masks), else into a max-pool after it (which clamps its 4×
 * smaller output at 0), else into a Winograd convolution after it (the copy that pads its
 * input applies the ReLU, the copy that crops its input gradient masks it: batch norm,
 * ReLU, convolution in the bn net). An im2col convolution would need a pass of its own,
 * so it keeps the ReLU unless a pool follows. Only training forwards fuse: predicting, every layer
 * computes its own map (`kconv show` and serve draw the maps before each ReLU).
 * `on = false` undoes it (the reference the fused net is checked against). Layers before
 * `from` (frozen while fine-tuning) run as when predicting, so a ReLU fuses only with a
 * neighbour that trains too: a frozen conv would not apply the ReLU it was given.
 */
export function fuseForTraining(layers: readonly Layer[], on = true, from = 0): void {
  layers.forEach((layer, i) => {
    if (!(layer instanceof Relu)) return;
    const before = layers[i - 1], after = layers[i + 1];
    layer.fusedInTraining = false;
    if (before instanceof Conv2d) before.reluInTraining = false;
    if (after instanceof MaxPool2d) after.reluInTraining = false;
    if (after instanceof Conv2d) after.reluBeforeInTraining = false;
    if (!on || i < from) return;
    if (before instanceof Conv2d && before.algorithm !== 'im2col' && i - 1 >= from) {
      before.reluInTraining = true;
      layer.fusedInTraining = true;
    } else if (after instanceof MaxPool2d) {
      after.reluInTraining = true;
      layer.fusedInTraining = true;
    } else if (after instanceof Conv2d && after.algorithm !== 'im2col') {
      after.reluBeforeInTraining = true;
      layer.fusedInTraining = true;
    }
  });
}
