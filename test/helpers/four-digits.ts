import type { ModelFile } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { Random } from '../../src/random.js';
import { digitPixels } from './digits.js';

/** Four synthetic digits (0, 3, 6 and 9), as numbers 0..255. */
const random = new Random(5);
export const IMAGES = [0, 3, 6, 9].map((label) => digitPixels(label, random));

/** What `model` predicts for these images (numbers 0..255), on one thread. */
export async function predictPixels(model: ModelFile, pixels: number[][]) {
  const data = new Uint8Array(pixels.length * 784);
  pixels.forEach((p, i) => data.set(p, i * 784));
  return predict(model, { n: pixels.length, pixels: data, labels: null, ids: null }, 1);
}
