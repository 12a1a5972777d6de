import { mixSeed } from '../random.js';
import { warpImage, type Affine } from './augment.js';

/** How far test-time transforms go: milder than training's augmentation (rotation ±11°, scale ±10%, shift ±2 px). */
export const TTA_LIMITS = { degrees: 8, scale: 0.08, shift: 1 } as const;
/** The most transforms `--tta` takes: each is a full pass over the images. */
export const MAX_TTA = 32;

/**
 * The N fixed views test-time augmentation averages over: the image itself first, then
 * N − 1 small rotations, scalings and shifts drawn from a fixed seed, so that the same N
 * always means the same views, on any machine and any number of threads.
 */
export function ttaTransforms(n: number): Affine[] {
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_TTA)) throw new RangeError(`TTA needs 1 to ${MAX_TTA} views, got ${n}`);
  const views: Affine[] = [{ angle: 0, scale: 1, dx: 0, dy: 0 }];
  for (let i = 1; i < n; i++) {
    const base = mixSeed(0x77a, i);
    const u = (k: number) => (mixSeed(base, k) / 4294967296) * 2 - 1;
    views.push({
      angle: (u(1) * TTA_LIMITS.degrees * Math.PI) / 180,
      scale: 1 + u(2) * TTA_LIMITS.scale,
      dx: u(3) * TTA_LIMITS.shift,
      dy: u(4) * TTA_LIMITS.shift,
    });
  }
  return views;
}

/** One fixed view, in the shape fillBatch takes for augmentation: the same transform for every image. */
export class FixedView {
  constructor(readonly transform: Affine) {}

  apply(src: Uint8Array, srcOff: number, _image: number, dst: Float32Array, dstOff: number, a: number, b: number): void {
    warpImage(src, srcOff, this.transform, dst, dstOff, a, b);
  }
}
