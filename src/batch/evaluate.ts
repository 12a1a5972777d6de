import type { Dataset } from '../data/index.js';
import { PIXELS } from '../data/index.js';
import { allocF32 } from '../kernels/memory.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { CLASSES, type InputSpec } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageTransform } from '../augment/augment.js';
import { fillBatch, range } from './fill.js';

export const EVAL_BATCH = 256;

/**
 * Input buffers by batch size, one set per thread (module state is per thread). Kernel
 * memory is never freed, so a buffer allocated per call would grow a long-running
 * process (validation every epoch, a server) without end; these are allocated once.
 */
const inputBuffers = new Map<number, Float32Array>();
/** The softmax and loss of evaluation, likewise one per thread (its buffers are kernel memory too). */
const loss = new SoftmaxCrossEntropy(CLASSES);

function inputBuffer(batchSize: number): Float32Array {
  let x = inputBuffers.get(batchSize);
  if (!x) {
    x = allocF32(batchSize * PIXELS);
    inputBuffers.set(batchSize, x);
  }
  return x;
}

/**
 * Runs the network over the images `order` of a dataset in batches, as when predicting
 * (no gradients, dropout off, batch normalization by its running statistics), and hands
 * each batch's logits, and labels when the dataset has them, to `onBatch`, in order.
 */
export function forEachBatch(
  net: Sequential, input: InputSpec, data: Dataset, order: Int32Array | null,
  onBatch: (start: number, count: number, logits: Tensor, labels: Uint8Array | null) => void, batchSize = EVAL_BATCH,
  transform: ImageTransform | null = null,
): void {
  const idx = order ?? range(data.n);
  const x = inputBuffer(batchSize);
  const labels = data.labels ? new Uint8Array(batchSize) : null;
  for (let start = 0; start < idx.length; start += batchSize) {
    const count = Math.min(batchSize, idx.length - start);
    const xs = count === batchSize ? x : x.subarray(0, count * PIXELS);
    const ls = labels && (count === batchSize ? labels : labels.subarray(0, count));
    fillBatch(data, idx, start, count, input, xs, ls, transform);
    onBatch(start, count, net.forward({ data: xs, shape: [count, ...net.inputShape] }, false), ls);
  }
}

/** Each batch's softmax probabilities (count × CLASSES), in order. */
export function forEachPrediction(
  net: Sequential, input: InputSpec, data: Dataset, order: Int32Array | null,
  onBatch: (start: number, count: number, probs: Float32Array) => void, batchSize = EVAL_BATCH, transform: ImageTransform | null = null,
): void {
  forEachBatch(net, input, data, order, (start, count, logits) => onBatch(start, count, loss.softmax(logits).data), batchSize, transform);
}

/** Mean cross-entropy (the training loss, by the same stable log-sum-exp) and accuracy over labelled images. */
export function evaluate(net: Sequential, input: InputSpec, data: Dataset, order: Int32Array | null): { loss: number; acc: number } {
  const stats = { correct: 0 };
  let sum = 0;
  let n = 0;
  forEachBatch(net, input, data, order, (_start, count, logits, labels) => {
    sum += loss.forward(logits, labels!, stats) * count;
    n += count;
  });
  return { loss: sum / n, acc: stats.correct / n };
}
