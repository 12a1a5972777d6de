import { Random } from '../../src/random.js';
import { jpegBytes, pngBytes } from './images.js';

/**
 * Kannada-MNIST digits turned back into "ordinary" image files, to test that kconv's
 * preprocessing recovers them: the 28×28 image enlarged (bilinear) to any size, placed
 * anywhere on a larger page, dark on light or light on dark, grey or in colour, on a
 * transparent background, saved as PNG or JPEG.
 */
export interface RenderSpec {
  width: number;
  height: number;
  /** Size of one of the digit's 28×28 pixels on the page (≥ 1: the digit is enlarged, never shrunk). */
  scale: number;
  /** Where the digit's 28×28 frame's top-left corner goes. */
  x: number;
  y: number;
  /** Dark ink on light paper (the reverse of the files' light on dark). */
  invert: boolean;
  /** Paper and ink colours. */
  paper: [number, number, number];
  ink: [number, number, number];
  /** Transparent paper: alpha is the ink's coverage, the colour the ink's. */
  alpha: boolean;
  format: 'png' | 'jpeg';
}

/** RGBA pixels of a digit drawn by spec. */
export function renderDigit(pixels: ArrayLike<number>, s: RenderSpec): Uint8Array {
  const out = new Uint8Array(s.width * s.height * 4);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : pixels[y * 28 + x]);
  for (let Y = 0; Y < s.height; Y++) {
    for (let X = 0; X < s.width; X++) {
      // Bilinear, sample centres on sample centres.
      const u = (X + 0.5 - s.x) / s.scale - 0.5;
      const v = (Y + 0.5 - s.y) / s.scale - 0.5;
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      const a = ((1 - fx) * (1 - fy) * at(x0, y0) + fx * (1 - fy) * at(x0 + 1, y0) + (1 - fx) * fy * at(x0, y0 + 1) + fx * fy * at(x0 + 1, y0 + 1)) / 255;
      const o = (Y * s.width + X) * 4;
      if (s.alpha) {
        out.set([...s.ink, Math.round(a * 255)], o);
      } else {
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(s.paper[c] + (s.ink[c] - s.paper[c]) * a);
        out[o + 3] = 255;
      }
    }
  }
  return out;
}

const PAPERS_LIGHT: [number, number, number][] = [[255, 255, 255], [246, 241, 222], [228, 238, 250], [238, 238, 238]];
const INKS_DARK: [number, number, number][] = [[0, 0, 0], [18, 40, 120], [70, 30, 25], [30, 30, 30]];
const PAPERS_DARK: [number, number, number][] = [[0, 0, 0], [20, 26, 44], [40, 40, 40], [10, 50, 30]];
const INKS_LIGHT: [number, number, number][] = [[255, 255, 255], [250, 240, 190], [220, 235, 255], [200, 200, 200]];

/**
 * The spec of image i: sizes 40–400 px (width and height apart), the digit enlarged 1× up
 * to what fits, anywhere on the page; even i dark on light ("half inverted"); a quarter in
 * colour, a sixth on transparent paper, a quarter of the opaque ones JPEG (quality 75).
 */
export function randomSpec(i: number, random: Random): RenderSpec {
  const width = 40 + random.int(361);
  const height = 40 + random.int(361);
  const most = (0.95 * Math.min(width, height)) / 28;
  const scale = 1 + (most - 1) * random.next();
  const x = random.next() * (width - 28 * scale);
  const y = random.next() * (height - 28 * scale);
  const invert = i % 2 === 0;
  const kind = random.next();
  const colour = kind < 0.25;
  const alpha = kind >= 0.25 && kind < 0.42;
  const pick = <T>(list: T[]) => list[colour ? 1 + random.int(list.length - 1) : 0];
  const paper = invert ? pick(PAPERS_LIGHT) : pick(PAPERS_DARK);
  const ink = invert ? pick(INKS_DARK) : pick(INKS_LIGHT);
  const format = !alpha && random.next() < 0.25 ? 'jpeg' : 'png';
  return { width, height, scale, x, y, invert, paper, ink, alpha, format };
}

/** The file's bytes. */
export function encodeDigit(pixels: ArrayLike<number>, spec: RenderSpec): Buffer {
  const data = renderDigit(pixels, spec);
  const img = { width: spec.width, height: spec.height, data };
  if (spec.format === 'jpeg') return jpegBytes(img, 75);
  const grey = !spec.alpha && spec.paper.every((v, _, a) => v === a[0]) && spec.ink.every((v, _, a) => v === a[0]);
  return pngBytes(img, spec.alpha ? 6 : grey ? 0 : 2);
}
