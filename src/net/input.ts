/**
 * The network's contract with the outside world: what goes in (1×28×28 images,
 * preprocessed as the weights file says) and what comes out (one score per digit).
 */

/** Per-image input shape: one channel of 28×28 pixels. */
export const INPUT_SHAPE: readonly number[] = [1, 28, 28];

/** The digits 0–9: one output score each. */
export const CLASSES = 10;

/** How raw pixels (0 background … 255 ink) become network input: (pixel / scale − mean) / std. */
export interface InputSpec {
  channels: number;
  height: number;
  width: number;
  scale: number;
  mean: number;
  std: number;
}

export const DEFAULT_INPUT: InputSpec = { channels: 1, height: 28, width: 28, scale: 255, mean: 0, std: 1 };

/** Preprocessed pixels must stay within ±INPUT_RANGE … */
export const INPUT_RANGE = 1000;
/** … and pixels 0 and 255 must differ by at least this much, or the image is gone. */
export const INPUT_MIN_SPREAD = 1e-3;

/** The input as pixel·a + b, the way every batch is filled (float32 results). */
export function inputAffine(input: InputSpec): { a: number; b: number } {
  return { a: 1 / (input.scale * input.std), b: -input.mean / input.std };
}

/**
 * What is wrong with a preprocessing, or null. Finite numbers with scale and std > 0 are
 * not enough: std 1e-300 makes every value infinite (NaN probabilities), mean 1e30 makes
 * every image the same. So pixels 0 and 255 must come out finite in float32, within
 * ±1000, and at least 0.001 apart.
 */
export function inputProblem(input: InputSpec): string | null {
  const { a, b } = inputAffine(input);
  const lo = Math.fround(b);
  const hi = Math.fround(255 * a + b);
  const fine = (v: number) => Number.isFinite(v) && Math.abs(v) <= INPUT_RANGE;
  if (fine(lo) && fine(hi) && Math.abs(hi - lo) >= INPUT_MIN_SPREAD) return null;
  return `"input" maps pixels 0 and 255 to ${lo} and ${hi}: (pixel / scale − mean) / std must give values within ±${INPUT_RANGE} at least ${INPUT_MIN_SPREAD} apart (kconv writes scale 255, mean 0, std 1)`;
}
