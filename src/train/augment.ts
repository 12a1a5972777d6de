import { mixSeed } from '../random.js';

/** How far augmentation goes: rotation ±11°, scale ±10%, shift ±2 px. */
export const AUGMENT_LIMITS = { degrees: 11, scale: 0.1, shift: 2 } as const;

const SIDE = 28;
const CENTER = (SIDE - 1) / 2;

/** One random affine transform: rotate by `angle` (radians) and scale about the centre, then shift. */
export interface Affine {
  angle: number;
  scale: number;
  dx: number;
  dy: number;
}

/**
 * The transform for one image in one epoch, drawn from (seed, epoch, image index)
 * alone: reproducible, the same whichever thread computes it, and no generator
 * state to carry.
 */
export function randomAffine(seed: number, epoch: number, image: number, out: Affine): Affine {
  const base = mixSeed(mixSeed(seed, 0xa06 + epoch), image);
  const { degrees, scale, shift } = AUGMENT_LIMITS;
  out.angle = ((symmetric(base, 1) * degrees) * Math.PI) / 180;
  out.scale = 1 + symmetric(base, 2) * scale;
  out.dx = symmetric(base, 3) * shift;
  out.dy = symmetric(base, 4) * shift;
  return out;
}

/** Uniform in [−1, 1), the k-th draw from `base`. */
function symmetric(base: number, k: number): number {
  return (mixSeed(base, k) / 4294967296) * 2 - 1;
}

/** A pixel of a 28×28 image, 0 outside it. */
function pixelAt(src: Uint8Array, off: number, y: number, x: number): number {
  return y >= 0 && y < SIDE && x >= 0 && x < SIDE ? src[off + y * SIDE + x] : 0;
}

/**
 * Warps one 28×28 byte image by an affine transform into float32, with bilinear
 * interpolation; outside the image counts as background (0). Each output pixel looks
 * up where it came from (the inverse transform), so there are no holes. The result is
 * normalised as v·a + b, like fillBatch.
 */
export function warpImage(
  src: Uint8Array, srcOff: number, t: Affine, dst: Float32Array, dstOff: number, a: number, b: number,
): void {
  const cos = Math.cos(t.angle) / t.scale;
  const sin = Math.sin(t.angle) / t.scale;
  for (let y = 0; y < SIDE; y++) {
    const ry = y - CENTER - t.dy;
    for (let x = 0; x < SIDE; x++) {
      const rx = x - CENTER - t.dx;
      // inverse rotation and scale: source = R(−angle)·(p − c − shift)/scale + c
      const sx = cos * rx + sin * ry + CENTER;
      const sy = -sin * rx + cos * ry + CENTER;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const v =
        (1 - fy) * ((1 - fx) * pixelAt(src, srcOff, y0, x0) + fx * pixelAt(src, srcOff, y0, x0 + 1)) +
        fy * ((1 - fx) * pixelAt(src, srcOff, y0 + 1, x0) + fx * pixelAt(src, srcOff, y0 + 1, x0 + 1));
      dst[dstOff + y * SIDE + x] = v * a + b;
    }
  }
}
