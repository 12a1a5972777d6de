/**
 * Which images a training batch holds, for layers whose randomness is per image (dropout).
 * The gradient step sets it before each forward; every layer of the network reads the same
 * object. Keying the randomness by (seed, step, dataset row) rather than drawing from a
 * stream makes an image's mask the same whichever thread's slice the image falls in, so a
 * run trains to the same weights on any number of threads.
 */
export class BatchContext {
  /** The training run's seed. */
  seed = 0;
  /** The optimizer step this batch is, counted from 0 over the whole run. */
  step = 0;
  /** rows[start + i] is the dataset row of the batch's image i (the epoch's order: no copy per batch). */
  rows: Int32Array = NO_ROWS;
  start = 0;

  set(seed: number, step: number, rows: Int32Array, start: number): void {
    this.seed = seed;
    this.step = step;
    this.rows = rows;
    this.start = start;
  }

  /** The dataset row of the batch's image i; i itself when no rows were set (a batch outside training). */
  row(i: number): number {
    const at = this.start + i;
    return at < this.rows.length ? this.rows[at] : i;
  }
}

const NO_ROWS = new Int32Array(0);
