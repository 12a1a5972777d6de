import { argMax, BatchBuffer, type Tensor } from '../tensor/tensor.js';

/**
 * Softmax and cross-entropy fused into one step: the loss is
 * mean over the batch of −log softmax(z)[label], computed with the log-sum-exp trick
 * (subtract each row's maximum) so large logits cannot overflow, and the gradient with
 * respect to the logits is simply (p − onehot(label)) / N.
 *
 * With label smoothing ε (PyTorch's CrossEntropyLoss(label_smoothing=ε)) the target is
 * q = (1 − ε)·onehot(label) + ε/K instead of onehot(label): the loss of a row is
 * −Σ_k q_k·log p_k = (1 − ε)·(−log p_label) + ε·mean_k(−log p_k), and the gradient
 * (p − q) / N. The network is then not pushed to ever larger logits for images it
 * already gets right.
 */
export class SoftmaxCrossEntropy {
  private readonly probs: BatchBuffer;
  private readonly grad: BatchBuffer;
  private lastProbs: Tensor | null = null;
  private lastLabels: ArrayLike<number> | null = null;

  constructor(readonly classes: number, readonly smoothing = 0) {
    if (!(smoothing >= 0 && smoothing < 1)) throw new RangeError(`label smoothing must be in [0, 1), got ${smoothing}`);
    this.probs = new BatchBuffer([classes]);
    this.grad = new BatchBuffer([classes]);
  }

  /** Softmax probabilities of each row of logits (owned buffer, reused). */
  softmax(logits: Tensor): Tensor {
    const n = logits.shape[0];
    const K = this.classes;
    const p = this.probs.get(n);
    const z = logits.data;
    for (let i = 0; i < n; i++) this.softmaxRow(z, p.data, i * K, z[i * K + argMax(z, i * K, K)]);
    this.lastProbs = p;
    return p;
  }

  /**
   * Mean cross-entropy of the batch. `labels[i]` is the class of row i. Also counts
   * correct arg-max predictions into `stats.correct` when given, to save a second pass.
   */
  forward(logits: Tensor, labels: ArrayLike<number>, stats?: { correct: number }): number {
    const n = logits.shape[0];
    const K = this.classes;
    const z = logits.data;
    const p = this.probs.get(n).data;
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const o = i * K;
      const predicted = argMax(z, o, K);
      const max = z[o + predicted];
      const logSum = this.softmaxRow(z, p, o, max);
      const y = labels[i];
      // −log softmax = log Σ exp(z − max) − (z_y − max)
      const nll = logSum - (z[o + y] - max);
      if (this.smoothing === 0) {
        loss += nll;
      } else {
        let meanNll = 0;
        for (let k = 0; k < K; k++) meanNll += logSum - (z[o + k] - max);
        loss += (1 - this.smoothing) * nll + (this.smoothing * meanNll) / K;
      }
      if (predicted === y) correct++;
    }
    if (stats) stats.correct += correct;
    this.lastProbs = this.probs.get(n);
    this.lastLabels = labels;
    return loss / n;
  }

  /**
   * Softmax of the logits z[o .. o+K) into p, with the row's maximum `max` subtracted
   * first (log-sum-exp) so no exp can overflow. Returns log Σ exp(z − max).
   */
  private softmaxRow(z: Float32Array, p: Float32Array, o: number, max: number): number {
    const K = this.classes;
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(z[o + k] - max);
      p[o + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) p[o + k] /= sum;
    return Math.log(sum);
  }

  /** dLoss/dlogits = (p − q) / N for the batch of the last forward (q = onehot without smoothing). */
  backward(): Tensor {
    const p = this.lastProbs!;
    const labels = this.lastLabels!;
    const n = p.shape[0];
    const K = this.classes;
    const g = this.grad.get(n);
    const pd = p.data;
    const gd = g.data;
    const inv = 1 / n;
    const spread = (this.smoothing / K) * inv;
    const hit = (1 - this.smoothing) * inv;
    for (let i = 0; i < n; i++) {
      const o = i * K;
      for (let k = 0; k < K; k++) gd[o + k] = pd[o + k] * inv - spread;
      gd[o + labels[i]] -= hit;
    }
    return g;
  }
}
