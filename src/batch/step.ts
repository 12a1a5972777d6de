import type { Dataset } from '../data/index.js';
import { PIXELS } from '../data/index.js';
import { allocF32 } from '../kernels/memory.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { CLASSES, type InputSpec } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import type { Augmenter } from '../augment/augment.js';
import { fillBatch } from './fill.js';

/**
 * One gradient computation on a slice of a batch: fill the images, forward, loss,
 * backward. The gradient is of the mean loss over the *whole* batch (`batchCount`
 * images), so slices computed on different threads simply add up. Buffers are sized
 * once for `maxCount` images and reused. Before forward it tells the network which
 * dataset rows the slice holds and which step this is (dropout's masks are keyed by them,
 * so a slice's masks do not depend on the thread computing it).
 */
export class GradientStep {
  private readonly x: Float32Array;
  private readonly labels: Uint8Array;
  private readonly ce: SoftmaxCrossEntropy;
  private readonly stats = { correct: 0 };
  /** Views of the buffers for each slice size seen (the short last batch, thread slices). */
  private readonly views = new Map<number, { xs: Float32Array; labels: Uint8Array }>();

  /** `labelSmoothing` is the loss's ε (see softmax-cross-entropy.ts); `seed` the run's, for dropout's masks. */
  constructor(private readonly net: Sequential, private readonly input: InputSpec, maxCount: number, labelSmoothing = 0, readonly seed = 0) {
    this.ce = new SoftmaxCrossEntropy(CLASSES, labelSmoothing);
    this.x = allocF32(maxCount * PIXELS);
    this.labels = new Uint8Array(maxCount);
  }

  /** Returns the summed loss and the number of correct predictions over the slice; `step` is the optimizer step, from 0. */
  run(
    data: Dataset, order: Int32Array, start: number, count: number, batchCount: number, augment: Augmenter | null = null, step = 0,
  ): { lossSum: number; correct: number } {
    let view = this.views.get(count);
    if (!view) {
      view = { xs: this.x.subarray(0, count * PIXELS), labels: this.labels.subarray(0, count) };
      this.views.set(count, view);
    }
    const { xs, labels } = view;
    fillBatch(data, order, start, count, this.input, xs, labels, augment);
    this.net.batch.set(this.seed, step, order, start);
    const logits = this.net.forward({ data: xs, shape: [count, ...this.net.inputShape] }, true);
    this.stats.correct = 0;
    const loss = this.ce.forward(logits, labels, this.stats);
    const g = this.ce.backward();
    if (count !== batchCount) {
      const scale = count / batchCount;
      for (let i = 0; i < g.data.length; i++) g.data[i] *= scale;
    }
    this.net.backward(g);
    return { lossSum: loss * count, correct: this.stats.correct };
  }
}
