import { BatchNorm } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import { Sequential } from '../net/sequential.js';

/**
 * Batch normalization folded into the conv or dense layer before it, for predicting. With
 * running statistics a batch norm is an affine map per channel, so it merges into the
 * filters: per output channel f, with s_f = γ_f / √(running_var_f + ε),
 *
 *   W'[f, …] = W[f, …] · s_f,    b'_f = β_f + (b_f − running_mean_f) · s_f
 *
 * (b_f = 0 for the bias-free conv or dense a batch norm follows). The folded network has
 * one pass less over every such layer's output. It is a copy: the network it came from,
 * whose weights are saved and whose per-layer maps `kconv show` and `serve` draw, is not
 * touched. A batch norm after anything else (a ReLU, a pool) stays as it is.
 */
export function foldBatchNorm(net: Sequential): Sequential {
  if (!foldsAny(net)) return net;
  const specs = net.layers.filter((layer, i) => !folds(net.layers, i)).map((layer) => layer.spec);
  const folded = new Sequential(specs, net.inputShape);
  copyFolded(net, folded);
  return folded;
}

/** Whether layer i is a batch norm that folds into the layer before it. */
function folds(layers: readonly Layer[], i: number): boolean {
  return layers[i] instanceof BatchNorm && i > 0 && (layers[i - 1] instanceof Conv2d || layers[i - 1] instanceof Dense);
}

export function foldsAny(net: Sequential): boolean {
  return net.layers.some((_, i) => folds(net.layers, i));
}

/**
 * Writes `net`'s weights, folded, into `folded` (built by foldBatchNorm from the same
 * network): again after the weights changed, without building anything.
 */
export function copyFolded(net: Sequential, folded: Sequential): void {
  const layers = net.layers;
  let k = 0;
  for (let i = 0; i < layers.length; i++) {
    if (folds(layers, i)) continue;
    const from = layers[i];
    const to = folded.layers[k++];
    if (from.type !== to.type) throw new Error(`copyFolded: layer ${i + 1} is ${from.type} but the folded network has ${to.type} there`);
    const next = layers[i + 1];
    if (i + 1 < layers.length && folds(layers, i + 1)) {
      foldInto(from as Conv2d | Dense, next as BatchNorm, to as Conv2d | Dense);
    } else {
      from.params().forEach((p, j) => to.params()[j].value.set(p.value));
      from.buffers?.().forEach((b, j) => to.buffers!()[j].value.set(b.value));
    }
  }
  if (k !== folded.layers.length) throw new Error(`copyFolded: ${k} layers copied into a folded network of ${folded.layers.length}`);
}

/** W' = W·s and b' = β + (b − μ)·s per output channel, s = γ/√(σ² + ε), in double precision. */
function foldInto(layer: Conv2d | Dense, bn: BatchNorm, out: Conv2d | Dense): void {
  const channels = bn.features;
  const per = layer.weight.length / channels;
  if (out.weight.length !== layer.weight.length || out.bias.length !== channels) throw new Error('foldInto: the folded layer has another shape');
  for (let f = 0; f < channels; f++) {
    const s = bn.weight[f] / Math.sqrt(bn.runningVar[f] + bn.eps);
    for (let j = f * per; j < (f + 1) * per; j++) out.weight[j] = layer.weight[j] * s;
    out.bias[f] = bn.bias[f] + (layer.bias[f] - bn.runningMean[f]) * s;
  }
}
