import type { Dataset } from '../data/index.js';
import { PIXELS } from '../data/index.js';
import { CLASSES, inputAffine, type InputSpec } from '../net/input.js';
import { mixSeed, Random } from '../random.js';
import type { ImageTransform } from '../augment/augment.js';

/**
 * Copies the images `order[start .. start+count)` of a dataset into a float32 batch
 * (NCHW, 1×28×28 each), as (pixel / scale − mean) / std, and their labels, each image
 * through `transform` when there is one (augmentation, a test-time view). Pixels stay
 * bytes in the dataset; only the batch in use is ever float32.
 */
export function fillBatch(
  data: Dataset, order: Int32Array, start: number, count: number, input: InputSpec,
  x: Float32Array, labels: Uint8Array | null, transform: ImageTransform | null = null,
): void {
  const { a, b } = inputAffine(input);
  const pixels = data.pixels;
  const lut = byteTable(a, b);
  for (let i = 0; i < count; i++) {
    const src = order[start + i] * PIXELS;
    const dst = i * PIXELS;
    if (transform) {
      transform.apply(pixels, src, order[start + i], x, dst, a, b);
    } else {
      for (let j = 0; j < PIXELS; j++) x[dst + j] = lut[pixels[src + j]];
    }
    if (labels && data.labels) labels[i] = data.labels[order[start + i]];
  }
}

/** v·a + b for every byte value v, remembered for the last (a, b): a lookup beats a multiply-add per pixel. */
let table = new Float32Array(256);
let tableKey = [NaN, NaN];
function byteTable(a: number, b: number): Float32Array {
  if (tableKey[0] !== a || tableKey[1] !== b) {
    table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = v * a + b;
    tableKey = [a, b];
  }
  return table;
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
  const byClass: number[][] = Array.from({ length: CLASSES }, () => []);
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
