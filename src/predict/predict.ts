import type { Dataset } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';
import { forEachPrediction } from '../train/evaluate.js';

export interface Predictions {
  /** Arg-max class of each image. */
  labels: Uint8Array;
  /** n×10 softmax probabilities. */
  probs: Float32Array;
}

/** Classifies every image of a dataset, in batches through the same engine as training. */
export function predict(model: ModelFile, data: Dataset): Predictions {
  const labels = new Uint8Array(data.n);
  const probs = new Float32Array(data.n * 10);
  forEachPrediction(model.net, model.input, data, null, (start, count, p) => {
    probs.set(p.subarray(0, count * 10), start * 10);
    for (let i = 0; i < count; i++) {
      let arg = 0;
      for (let k = 1; k < 10; k++) if (p[i * 10 + k] > p[i * 10 + arg]) arg = k;
      labels[start + i] = arg;
    }
  });
  return { labels, probs };
}
