import type { Dataset } from '../data/index.js';
import { PIXELS } from '../data/index.js';
import type { InputSpec } from '../model/weights-file.js';
import { Random } from '../random.js';

/**
 * Copies the images `order[start .. start+count)` of a dataset into a float32 batch
 * (NCHW, 1×28×28 each), as (pixel / scale − mean) / std, and their labels. Pixels stay
 * bytes in the dataset; only the batch in use is ever float32.
 */
export function fillBatch(
  data: Dataset, order: Int32Array, start: number, count: number, input: InputSpec,
  x: Float32Array, labels: Uint8Array | null,
): void {
  const a = 1 / (input.scale * input.std);
  const b = -input.mean / input.std;
  const pixels = data.pixels;
  for (let i = 0; i < count; i++) {
    const src = order[start + i] * PIXELS;
    const dst = i * PIXELS;
    for (let j = 0; j < PIXELS; j++) x[dst + j] = pixels[src + j] * a + b;
    if (labels && data.labels) labels[i] = data.labels[order[start + i]];
  }
}

/** 0, 1, …, n − 1. */
export function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/**
 * Splits a labelled dataset into training and validation indices, the same fraction
 * of every digit in each (stratified), chosen by a seeded shuffle.
 */
export function stratifiedSplit(labels: Uint8Array, n: number, fraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const random = new Random(mixSeed(seed, 0x5eed));
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < n; i++) byClass[labels[i]].push(i);
  const train: number[] = [];
  const val: number[] = [];
  for (const members of byClass) {
    random.shuffle(members);
    const k = Math.round(members.length * fraction);
    val.push(...members.slice(0, k));
    train.push(...members.slice(k));
  }
  // Back to file order: the split decides membership, the epoch shuffle decides order.
  return { train: Int32Array.from(train).sort(), val: Int32Array.from(val).sort() };
}

/** Derives an independent seed for a purpose (an epoch, the split, …) from the user's seed. */
export function mixSeed(seed: number, salt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}
