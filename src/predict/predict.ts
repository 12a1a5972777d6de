import type { Dataset } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';
import { CLASSES } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import { argMax } from '../tensor/tensor.js';
import { DataParallel } from '../parallel/data-parallel.js';
import { EVAL_BATCH, forEachPrediction } from '../batch/evaluate.js';
import { EnsembleMean } from './ensemble-mean.js';
import { copyFolded, foldBatchNorm } from './fold-batchnorm.js';
import { macsPerImage, predictThreads } from './threads.js';
import { FixedView, ttaTransforms } from '../augment/tta.js';

export interface Predictions {
  /** Arg-max class of each image. */
  labels: Uint8Array;
  /** n×10 softmax probabilities. */
  probs: Float32Array;
}

/**
 * Classifies every image of a dataset, in batches through the same engine as training,
 * batch normalization folded into the layer before it (fold-batchnorm.ts); with
 * `threads` > 1, on as many threads as the work pays for (threads.ts), the images split
 * between them. With `tta` views > 1
 * (test-time augmentation) the probabilities are the mean over the image and tta − 1
 * fixed small warps of it (see tta.ts). Given several models (an ensemble), each
 * classifies the images with its own preprocessing (and its own test-time views), and
 * the probabilities are the mean of theirs; one model gives exactly what it gives alone.
 */
export async function predict(
  models: ModelFile | readonly ModelFile[], data: Dataset, threads = 1, tta = 1, onProgress?: (done: number, total: number) => void,
): Promise<Predictions> {
  const members = Array.isArray(models) ? (models as readonly ModelFile[]) : [models as ModelFile];
  if (members.length === 0) throw new RangeError('predict needs at least one model');
  // Progress counts image views: each member classifies every image in each of its views.
  const total = data.n * ttaTransforms(tta).length * members.length;
  let before = 0;
  const progress = (done: number) => onProgress?.(before + done, total);
  // One member at a time (each may use every thread), then their mean (ensemble-mean.ts).
  const mean = new EnsembleMean();
  for (const model of members) {
    mean.add(await memberProbs(model, data, threads, tta, progress));
    before += data.n * ttaTransforms(tta).length;
  }
  const probs = mean.mean();
  const labels = new Uint8Array(data.n);
  for (let i = 0; i < data.n; i++) labels[i] = argMax(probs, i * CLASSES, CLASSES);
  return { labels, probs };
}

/** One model's n×10 probabilities, averaged over the test-time views. */
async function memberProbs(model: ModelFile, data: Dataset, threads: number, tta: number, progress: (done: number) => void): Promise<Float32Array> {
  const views = ttaTransforms(tta);
  const probs = new Float32Array(data.n * CLASSES);
  const add = (p: Float32Array, at: number) => {
    for (let i = 0; i < p.length; i++) probs[at + i] += p[i];
  };
  const net = predictionNet(model.net);
  const useThreads = predictThreads(threads, macsPerImage(net), data.n, views.length);
  if (useThreads > 1) {
    const pool = await DataParallel.create(useThreads, net, net.specs(), model.input, 1, data, EVAL_BATCH, data.n);
    try {
      for (let i = 0; i < data.n; i++) pool.order[i] = i;
      views.forEach((view, k) => {
        add(pool.predict(net, model.input, data, data.n, k === 0 ? null : view), 0);
        progress((k + 1) * data.n);
      });
    } finally {
      await pool.close();
    }
  } else {
    views.forEach((view, k) => {
      const transform = k === 0 ? null : new FixedView(view);
      forEachPrediction(net, model.input, data, null, (start, count, p) => {
        add(p.subarray(0, count * CLASSES), start * CLASSES);
        progress(k * data.n + start + count);
      }, EVAL_BATCH, transform);
    });
  }
  if (views.length > 1) for (let i = 0; i < probs.length; i++) probs[i] /= views.length;
  return probs;
}

/**
 * The network to predict with: `net` with batch normalization folded in, built once per
 * network (a layer's buffers live as long as the process, so a copy per call would grow it)
 * and refreshed from `net`'s weights on every call, in case they changed.
 */
const foldedNets = new WeakMap<Sequential, Sequential>();
export function predictionNet(net: Sequential): Sequential {
  const known = foldedNets.get(net);
  if (known) {
    if (known !== net) copyFolded(net, known);
    return known;
  }
  const folded = foldBatchNorm(net);
  foldedNets.set(net, folded);
  return folded;
}
