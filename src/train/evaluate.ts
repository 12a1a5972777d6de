import type { Dataset } from '../data/index.js';
import { PIXELS } from '../data/index.js';
import { allocF32 } from '../kernels/memory.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import type { InputSpec } from '../model/weights-file.js';
import type { Sequential } from '../net/sequential.js';
import { fillBatch, range } from './batches.js';

export const EVAL_BATCH = 256;

/**
 * Runs the network over the images `order` of a dataset in batches (no gradients,
 * dropout off) and hands each batch's softmax probabilities to `onBatch`, in order.
 */
export function forEachPrediction(
  net: Sequential, input: InputSpec, data: Dataset, order: Int32Array | null,
  onBatch: (start: number, count: number, probs: Float32Array) => void, batchSize = EVAL_BATCH,
): void {
  const idx = order ?? range(data.n);
  const x = allocF32(batchSize * PIXELS);
  const ce = new SoftmaxCrossEntropy(10);
  for (let start = 0; start < idx.length; start += batchSize) {
    const count = Math.min(batchSize, idx.length - start);
    const xs = count === batchSize ? x : x.subarray(0, count * PIXELS);
    fillBatch(data, idx, start, count, input, xs, null);
    const logits = net.forward({ data: xs, shape: [count, ...net.inputShape] }, false);
    onBatch(start, count, ce.softmax(logits).data);
  }
}

/** Mean cross-entropy and accuracy over labelled images. */
export function evaluate(net: Sequential, input: InputSpec, data: Dataset, order: Int32Array | null): { loss: number; acc: number } {
  const labels = data.labels!;
  const idx = order ?? range(data.n);
  let loss = 0;
  let correct = 0;
  forEachPrediction(net, input, data, idx, (start, count, probs) => {
    for (let i = 0; i < count; i++) {
      const y = labels[idx[start + i]];
      const p = probs.subarray(i * 10, i * 10 + 10);
      loss -= Math.log(Math.max(p[y], 1e-30));
      let arg = 0;
      for (let k = 1; k < 10; k++) if (p[k] > p[arg]) arg = k;
      if (arg === y) correct++;
    }
  });
  return { loss: loss / idx.length, acc: correct / idx.length };
}
