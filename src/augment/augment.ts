import { mixSeed, Random } from '../random.js';

/** How far the affine augmentation goes: rotation ±11°, scale ±10%, shift ±2 px. */
export const AUGMENT_LIMITS = { degrees: 11, scale: 0.1, shift: 2 } as const;

/** The strongest elastic distortion accepted (α; beyond it digits tear apart). */
export const MAX_ELASTIC = 100;

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CENTER = (SIDE - 1) / 2;

/** One random affine transform: rotate by `angle` (radians) and scale about the centre, then shift. */
export interface Affine {
  angle: number;
  scale: number;
  dx: number;
  dy: number;
}

/**
 * Something that writes image `image` (its index in the dataset) of a batch, changed in
 * some way, as v·a + b: training's Augmenter, or one fixed test-time view (augment/tta.ts).
 */
export interface ImageTransform {
  apply(src: Uint8Array, srcOff: number, image: number, dst: Float32Array, dstOff: number, a: number, b: number): void;
}

/**
 * What augmentation does to each training image. Every part is drawn afresh for every
 * image in every epoch, from (seed, epoch, image) alone. 0 turns a part off.
 */
export interface AugmentSettings {
  /** Rotation, scale and shift within AUGMENT_LIMITS (the original --augment). */
  affine: boolean;
  /** Elastic distortion: α, the displacement scale in pixels of a unit random field smoothed by σ = 4. */
  elastic: number;
  /** Stroke width: up to this fraction of the way to a one-pixel dilation (thicker) or erosion (thinner). */
  stroke: number;
  /** Contrast: ink intensity ×(1 ± c) and gamma e^(±c). */
  contrast: number;
  /** Random erasing: the probability of blanking a rectangle of 2–15% of the image. */
  erase: number;
}

export const NO_AUGMENTATION: AugmentSettings = { affine: false, elastic: 0, stroke: 0, contrast: 0, erase: 0 };

export function isAugmenting(s: AugmentSettings): boolean {
  return s.affine || s.elastic > 0 || s.stroke > 0 || s.contrast > 0 || s.erase > 0;
}

/** The settings a weights file's `augment` stands for (true and false are the affine part or nothing). */
export function augmentSettings(recorded: boolean | AugmentSettings): AugmentSettings {
  return typeof recorded === 'boolean' ? { ...NO_AUGMENTATION, affine: recorded } : recorded;
}

/** The parts that are on, for people: "affine, elastic 34, stroke 0.5", or "none". */
export function describeAugmentation(s: AugmentSettings): string {
  const parts = [
    s.affine ? 'affine' : '', s.elastic ? `elastic ${s.elastic}` : '', s.stroke ? `stroke ${s.stroke}` : '',
    s.contrast ? `contrast ${s.contrast}` : '', s.erase ? `erase ${s.erase}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * The affine transform for one image in one epoch, drawn from (seed, epoch, image index)
 * alone: reproducible, the same whichever thread computes it, and no generator
 * state to carry.
 */
export function randomAffine(seed: number, epoch: number, image: number, out: Affine): Affine {
  const base = imageSeed(seed, epoch, image);
  const { degrees, scale, shift } = AUGMENT_LIMITS;
  out.angle = ((symmetric(base, 1) * degrees) * Math.PI) / 180;
  out.scale = 1 + symmetric(base, 2) * scale;
  out.dx = symmetric(base, 3) * shift;
  out.dy = symmetric(base, 4) * shift;
  return out;
}

function imageSeed(seed: number, epoch: number, image: number): number {
  return mixSeed(mixSeed(seed, 0xa06 + epoch), image);
}

/** Uniform in [−1, 1), the k-th draw from `base`. */
function symmetric(base: number, k: number): number {
  return (mixSeed(base, k) / 4294967296) * 2 - 1;
}

/** A pixel of a 28×28 image, 0 outside it. */
function pixelAt(src: Uint8Array, off: number, y: number, x: number): number {
  return y >= 0 && y < SIDE && x >= 0 && x < SIDE ? src[off + y * SIDE + x] : 0;
}

/** Bilinear interpolation of a 28×28 byte image at (sy, sx); background (0) outside. */
function sample(src: Uint8Array, off: number, sy: number, sx: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  return (
    (1 - fy) * ((1 - fx) * pixelAt(src, off, y0, x0) + fx * pixelAt(src, off, y0, x0 + 1)) +
    fy * ((1 - fx) * pixelAt(src, off, y0 + 1, x0) + fx * pixelAt(src, off, y0 + 1, x0 + 1))
  );
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
  remap(src, srcOff, t, null, null, dst, dstOff, a, b);
}

/**
 * out[outOff + p] = v·a + b for every pixel p, v read bilinearly from
 * source(p) = A⁻¹(p) + (fx[p], fy[p]): the inverse rotation and scale about the centre,
 * less the shift, plus a displacement field when there is one.
 */
function remap(
  src: Uint8Array, srcOff: number, t: Affine, fx: Float32Array | null, fy: Float32Array | null,
  out: Float32Array | Float64Array, outOff: number, a: number, b: number,
): void {
  const cos = Math.cos(t.angle) / t.scale;
  const sin = Math.sin(t.angle) / t.scale;
  for (let y = 0; y < SIDE; y++) {
    const ry = y - CENTER - t.dy;
    for (let x = 0; x < SIDE; x++) {
      const rx = x - CENTER - t.dx;
      const p = y * SIDE + x;
      // source = R(−angle)·(p − c − shift)/scale + c (+ the field)
      let sx = cos * rx + sin * ry + CENTER;
      let sy = -sin * rx + cos * ry + CENTER;
      if (fx !== null && fy !== null) {
        sx += fx[p];
        sy += fy[p];
      }
      out[outOff + p] = sample(src, srcOff, sy, sx) * a + b;
    }
  }
}

/**
 * All augmentations of one training run, applied image by image:
 *
 *   1. geometry: every output pixel p is read (bilinearly) from
 *        source(p) = A⁻¹(p) + α·(G_σ ∗ U)(p)
 *      where A is the random affine transform (rotation, scale, shift) and U a field of
 *      independent uniform(−1, 1) displacements smoothed by a Gaussian of σ ≈ 4 pixels:
 *      Simard, Steinkraus & Platt (2003), "Best practices for CNNs applied to visual
 *      document analysis", elastic distortion; it bends strokes as another hand would.
 *   2. stroke width: v ← v + t·(dilate(v) − v) for t > 0, or v + |t|·(erode(v) − v) for
 *      t < 0, with grey-level dilation/erosion over the pixel and its 4 neighbours and
 *      t uniform in [−stroke, stroke]: a finer or broader pen.
 *   3. contrast: v ← 255·min(1, c·(v/255)^γ), c = 1 + u·contrast, γ = e^(u'·contrast):
 *      lighter or darker ink, a scanner's curve.
 *   4. random erasing (Zhong et al. 2017): with probability `erase`, a rectangle of 2–15%
 *      of the image, aspect 0.3–3.3, becomes background: a broken or faded stroke.
 *
 * Every draw comes from (seed, epoch, image) alone, so a run is reproducible and the
 * same on any number of threads. The affine draw is the one the original --augment
 * made, so those runs are unchanged. Scratch buffers are allocated once.
 */
export class Augmenter implements ImageTransform {
  epoch = 0;
  private readonly transform: Affine = { angle: 0, scale: 1, dx: 0, dy: 0 };
  private readonly random = new Random(0);
  private readonly fieldX = new Float32Array(PIXELS);
  private readonly fieldY = new Float32Array(PIXELS);
  private readonly blurTmp = new Float32Array(SIDE);
  // Float64, so that affine-only output is bit for bit what warpImage gives.
  private readonly img = new Float64Array(PIXELS);
  private readonly img2 = new Float64Array(PIXELS);
  constructor(readonly settings: AugmentSettings, readonly seed: number) {}

  /** Image `image` (its index in the dataset) of this epoch, augmented, as v·a + b into dst. */
  apply(src: Uint8Array, srcOff: number, image: number, dst: Float32Array, dstOff: number, a: number, b: number): void {
    const s = this.settings;
    const base = imageSeed(this.seed, this.epoch, image);
    const t = this.transform;
    if (s.affine) randomAffine(this.seed, this.epoch, image, t);
    else {
      t.angle = 0;
      t.scale = 1;
      t.dx = 0;
      t.dy = 0;
    }
    // The other parts draw from a stream of their own, so the affine draw stays the original one.
    this.random.setState(mixSeed(base, 0xe1a5));
    const img = this.img;
    this.warp(src, srcOff, t, s.elastic > 0 ? s.elastic : 0, img);
    if (s.stroke > 0) this.strokeWidth((this.random.next() * 2 - 1) * s.stroke);
    if (s.contrast > 0) {
      const c = 1 + (this.random.next() * 2 - 1) * s.contrast;
      const gamma = Math.exp((this.random.next() * 2 - 1) * s.contrast);
      for (let i = 0; i < PIXELS; i++) img[i] = 255 * Math.min(1, c * Math.pow(img[i] / 255, gamma));
    }
    if (s.erase > 0 && this.random.next() < s.erase) this.eraseRectangle();
    for (let i = 0; i < PIXELS; i++) dst[dstOff + i] = img[i] * a + b;
  }

  /** Step 1: the affine map plus, when α > 0, a smoothed random displacement field. */
  private warp(src: Uint8Array, srcOff: number, t: Affine, alpha: number, out: Float64Array): void {
    const fx = this.fieldX;
    const fy = this.fieldY;
    if (alpha > 0) {
      for (let i = 0; i < PIXELS; i++) fx[i] = this.random.next() * 2 - 1;
      for (let i = 0; i < PIXELS; i++) fy[i] = this.random.next() * 2 - 1;
      this.blur(fx, alpha);
      this.blur(fy, alpha);
    }
    remap(src, srcOff, t, alpha > 0 ? fx : null, alpha > 0 ? fy : null, out, 0, 1, 0);
  }

  /**
   * field ← scale · (G ∗ field), G ≈ a Gaussian of σ ≈ 4: three box filters of radius
   * 4, 4 and 3 along rows, then along columns (their variances add up to 17.3 = 4.16²;
   * Wells 1986). A box is a running sum, so a pass costs the same whatever its width:
   * ten times cheaper than the 25-tap Gaussian. Boxes are cut and renormalised at the
   * borders.
   */
  private blur(field: Float32Array, scale: number): void {
    for (let k = 0; k < BOX_RADII.length; k++) boxPass(field, this.blurTmp, BOX_RADII[k], 1, SIDE);
    for (let k = 0; k < BOX_RADII.length; k++) boxPass(field, this.blurTmp, BOX_RADII[k], SIDE, 1);
    for (let i = 0; i < PIXELS; i++) field[i] *= scale;
  }

  /** Step 2: blend toward the 4-neighbour grey-level dilation (t > 0) or erosion (t < 0). */
  private strokeWidth(t: number): void {
    const img = this.img;
    const out = this.img2;
    const grow = t > 0;
    const w = Math.abs(t);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const p = y * SIDE + x;
        let m = img[p];
        // Outside the image is background (0): it erodes edge ink, never dilates it.
        const up = y > 0 ? img[p - SIDE] : 0;
        const down = y < SIDE - 1 ? img[p + SIDE] : 0;
        const left = x > 0 ? img[p - 1] : 0;
        const right = x < SIDE - 1 ? img[p + 1] : 0;
        m = grow ? Math.max(m, up, down, left, right) : Math.min(m, up, down, left, right);
        out[p] = img[p] + w * (m - img[p]);
      }
    }
    img.set(out);
  }

  /** Step 4: a random rectangle becomes background. */
  private eraseRectangle(): void {
    const area = (0.02 + this.random.next() * 0.13) * PIXELS;
    const aspect = Math.exp(Math.log(0.3) + this.random.next() * (Math.log(3.3) - Math.log(0.3)));
    const h = Math.min(SIDE, Math.max(1, Math.round(Math.sqrt(area * aspect))));
    const w = Math.min(SIDE, Math.max(1, Math.round(Math.sqrt(area / aspect))));
    const top = this.random.int(SIDE - h + 1);
    const left = this.random.int(SIDE - w + 1);
    for (let y = top; y < top + h; y++) this.img.fill(0, y * SIDE + left, y * SIDE + left + w);
  }
}

/** Box radii whose three passes approximate a Gaussian of σ = ELASTIC_SIGMA (variance r(r+1)/3 each). */
const BOX_RADII = [4, 4, 3];

/** 1 / (number of values in the box of radius r around position i of a 28-long line), per radius. */
const BOX_WEIGHTS = new Map(BOX_RADII.map((r) => [r, Float32Array.from({ length: SIDE }, (_, i) => 1 / (Math.min(SIDE - 1, i + r) - Math.max(0, i - r) + 1))]));

/**
 * One box-filter pass over the 28 lines of a 28×28 field: along rows (step 1, lines
 * SIDE apart) or columns (step SIDE, lines 1 apart). Each value becomes the mean of
 * the values within `r` of it on its line (fewer at the ends), by a running sum.
 */
function boxPass(field: Float32Array, tmp: Float32Array, r: number, step: number, lineStep: number): void {
  const weight = BOX_WEIGHTS.get(r)!;
  for (let line = 0, base = 0; line < SIDE; line++, base += lineStep) {
    let sum = 0;
    for (let i = 0; i < r; i++) sum += field[base + i * step];
    for (let i = 0; i < SIDE; i++) {
      if (i + r < SIDE) sum += field[base + (i + r) * step];
      if (i > r) sum -= field[base + (i - r - 1) * step];
      tmp[i] = sum * weight[i];
    }
    for (let i = 0, at = base; i < SIDE; i++, at += step) field[at] = tmp[i];
  }
}
