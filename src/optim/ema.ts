/**
 * An exponential moving average of the weights (Polyak averaging, as in timm's ModelEma):
 * after every optimizer step
 *
 *   ē ← d·ē + (1 − d)·w,   d = min(decay, (1 + t) / (10 + t))
 *
 * where t counts the updates so far. The warm-up term keeps the first averages from
 * being dominated by the random initial weights. The average of a noisy optimizer's
 * path usually generalises better than its last point; kconv saves and validates ē.
 * Any float arrays can be averaged: parameters, and buffers such as running statistics.
 */
export class WeightAverage {
  /** The averages, one per tracked array. */
  readonly averages: Float32Array[];
  /** Updates so far (saved, so a resumed run continues the same average). */
  updates: number;

  constructor(readonly decay: number, private readonly tracked: Float32Array[], state?: { updates: number; averages: Float32Array[] }) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`EMA decay must be in [0, 1), got ${decay}`);
    if (state) {
      if (state.averages.length !== tracked.length || state.averages.some((a, i) => a.length !== tracked[i].length)) {
        throw new RangeError('EMA state does not match the network');
      }
      this.averages = state.averages.map((a) => Float32Array.from(a));
      this.updates = state.updates;
    } else {
      this.averages = tracked.map((t) => Float32Array.from(t));
      this.updates = 0;
    }
  }

  /** The decay used by the next update. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  update(): void {
    const d = this.currentDecay();
    this.tracked.forEach((w, k) => {
      const e = this.averages[k];
      for (let i = 0; i < w.length; i++) e[i] = d * e[i] + (1 - d) * w[i];
    });
    this.updates++;
  }

  /**
   * Runs `use` with the averages in place of the live weights, then puts the live ones
   * back: validation and saving see the average, training goes on from the live point.
   */
  async withAverages<T>(scratch: Float32Array[], use: () => Promise<T> | T): Promise<T> {
    this.tracked.forEach((w, k) => {
      scratch[k].set(w);
      w.set(this.averages[k]);
    });
    try {
      return await use();
    } finally {
      this.tracked.forEach((w, k) => w.set(scratch[k]));
    }
  }
}
