/**
 * Any picture of a digit → the 28×28 image the network expects, made the way MNIST and
 * Kannada-MNIST images were made:
 *
 *   1. grey:   luminance Y = 0.299 R + 0.587 G + 0.114 B; a transparent pixel shows the
 *              "paper" behind it (see toGrey);
 *   2. ink:    the background level b is the median of the border pixels; ink is what differs
 *              from it, dark on light (v = b − Y) or light on dark (v = Y − b), whichever way the
 *              image's mean leans; the noise floor t (three times the border's median deviation
 *              from b: paper grain, JPEG ringing) is taken off, v' = max(0, v − t);
 *   3. crop:   to the bounding box of the ink that reaches 10% of the strongest (fainter pixels
 *              around it would make the box a blurred picture's, not the digit's);
 *   4. scale:  to fit 20×20, keeping the aspect ratio, by area averaging (each output pixel is
 *              the mean of the input area it covers), then stretched so the darkest ink is 255;
 *   5. centre: placed in 28×28 so its centre of mass (in pixel indices) falls on pixel (14, 14),
 *              as the Kannada-MNIST files have it (mean 13.99, 13.99 over val.csv), moved by
 *              whole pixels and kept inside the frame.
 *
 * This file must stay dependency-free: `kconv serve` sends its compiled form
 * (dist/image/preprocess.js) to the browser as an ES module, so the page preprocesses a
 * drawing with exactly this code, and the CLI and the server preprocess files with it too.
 */

/** A decoded picture: width × height pixels of `channels` bytes each, row-major. */
export interface RasterImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** width × height × channels values 0..255 (a Uint8Array, a canvas's Uint8ClampedArray, …). */
  data: ArrayLike<number>;
}

/** What preprocessing found and did, for tests and for the page. */
export interface Preprocessed {
  /** 784 values, 0 background … 255 ink, row-major 28×28. */
  pixels: Uint8Array;
  /** False when no ink was found: the pixels are all 0. */
  ink: boolean;
  /** True when the ink was darker than the background (and so was inverted). */
  darkInk: boolean;
  /** Background level (0..255 grey) and noise floor that were subtracted. */
  background: number;
  noise: number;
  /** The ink's bounding box in the input image. */
  box: { x: number; y: number; width: number; height: number };
  /** The scaled ink's size (the larger side is 20) and where it was placed in 28×28. */
  scaled: { width: number; height: number };
  offset: { x: number; y: number };
}

/** The output side, the box the ink is scaled to fit, and the centre of mass's target. */
export const SIDE = 28;
export const BOX = 20;
export const CENTRE = 14;
/** Ink fainter than this fraction of the strongest does not widen the bounding box. */
export const BOX_THRESHOLD = 0.1;

/**
 * Luminance of every pixel, 0..255. Transparent pixels show a "paper" colour: when the
 * opaque part covers under half the picture it is the ink (a drawing on a transparent
 * background), and the paper is white behind dark ink and black behind light ink; when it
 * covers most of the picture it is the paper itself, and transparent parts take its median.
 */
export function toGrey(img: RasterImage): Uint8Array {
  const { width, height, channels, data } = img;
  const n = width * height;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`image size must be positive whole numbers, got ${width}×${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`image channels must be 1, 2, 3 or 4, got ${channels}`);
  if (data.length !== n * channels) throw new RangeError(`image data has ${data.length} values, expected ${width}×${height}×${channels} = ${n * channels}`);
  const grey = new Uint8Array(n);
  const colour = channels >= 3;
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    grey[i] = colour ? Math.round(0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]) : data[j];
  }
  if (channels === 1 || channels === 3) return grey;
  // Alpha: blend each pixel over the paper colour.
  let alphaSum = 0;
  let weighted = 0;
  let transparent = false;
  const hist = new Float64Array(256);
  for (let i = 0, a = channels - 1; i < n; i++, a += channels) {
    const alpha = data[a];
    if (alpha < 255) transparent = true;
    alphaSum += alpha;
    weighted += alpha * grey[i];
    hist[grey[i]] += alpha;
  }
  if (!transparent) return grey;
  if (alphaSum === 0) return grey.fill(255); // wholly transparent: blank paper
  let paper: number;
  if (alphaSum < 0.5 * 255 * n) {
    paper = weighted / alphaSum < 128 ? 255 : 0; // the opaque part is the ink
  } else {
    // The opaque part is mostly paper: its (alpha-weighted) median.
    paper = 0;
    for (let seen = hist[0]; 2 * seen < alphaSum; seen += hist[paper]) paper++;
  }
  for (let i = 0, a = channels - 1; i < n; i++, a += channels) {
    const alpha = data[a] / 255;
    grey[i] = Math.round(grey[i] * alpha + paper * (1 - alpha));
  }
  return grey;
}

/** The median of a histogram of counts over 0..255. */
function histogramMedian(hist: Uint32Array, count: number): number {
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v];
    if (2 * seen >= count) return v;
  }
  return 255;
}

/** Values of the pixels on the image's four edges, each once. */
function borderValues(grey: Uint8Array, width: number, height: number): number[] {
  const out: number[] = [];
  for (let x = 0; x < width; x++) {
    out.push(grey[x]);
    if (height > 1) out.push(grey[(height - 1) * width + x]);
  }
  for (let y = 1; y < height - 1; y++) {
    out.push(grey[y * width]);
    if (width > 1) out.push(grey[y * width + width - 1]);
  }
  return out;
}

/**
 * The weights of area averaging along one axis: output cell j of `to` covers input
 * [j·from/to, (j+1)·from/to); each input pixel it overlaps counts by the overlap.
 */
function areaWeights(from: number, to: number): { index: Int32Array; weight: Float32Array; start: Int32Array } {
  const step = from / to;
  const start = new Int32Array(to + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let j = 0; j < to; j++) {
    start[j] = index.length;
    const a = j * step;
    const b = (j + 1) * step;
    for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 1e-9) {
        index.push(i);
        weight.push(overlap / step);
      }
    }
  }
  start[to] = index.length;
  return { index: Int32Array.from(index), weight: Float32Array.from(weight), start };
}

/**
 * Resamples a w×h array of values (taken from `src` at (x0, y0) with row stride `stride`)
 * to ow×oh by area averaging: separable, rows first.
 */
export function resizeArea(src: ArrayLike<number>, stride: number, x0: number, y0: number, w: number, h: number, ow: number, oh: number): Float32Array {
  const wx = areaWeights(w, ow);
  const wy = areaWeights(h, oh);
  const rows = new Float32Array(h * ow);
  for (let y = 0; y < h; y++) {
    const base = (y0 + y) * stride + x0;
    for (let j = 0; j < ow; j++) {
      let s = 0;
      for (let k = wx.start[j]; k < wx.start[j + 1]; k++) s += src[base + wx.index[k]] * wx.weight[k];
      rows[y * ow + j] = s;
    }
  }
  const out = new Float32Array(oh * ow);
  for (let j = 0; j < oh; j++) {
    for (let k = wy.start[j]; k < wy.start[j + 1]; k++) {
      const row = wy.index[k] * ow;
      const wgt = wy.weight[k];
      for (let x = 0; x < ow; x++) out[j * ow + x] += rows[row + x] * wgt;
    }
  }
  return out;
}

/** The MNIST-style 28×28 image of a picture, with what was found on the way (see the file's comment). */
export function preprocessImage(img: RasterImage): Preprocessed {
  const { width, height } = img;
  const { background, darkInk, noise, ink, peak } = findInk(toGrey(img), width, height);
  const blank: Preprocessed = {
    pixels: new Uint8Array(SIDE * SIDE), ink: false, darkInk, background, noise,
    box: { x: 0, y: 0, width: 0, height: 0 }, scaled: { width: 0, height: 0 }, offset: { x: 0, y: 0 },
  };
  if (peak <= noise) return blank;
  const box = cropToInk(ink, width, height, noise, BOX_THRESHOLD * (peak - noise));
  const scaled = scaleToBox(ink, width, box);
  if (scaled === null) return blank;
  const { pixels, offset } = placeByCentreOfMass(scaled);
  return { pixels, ink: true, darkInk, background, noise, box, scaled: { width: scaled.width, height: scaled.height }, offset };
}

/** What step 2 finds: the background level, which way the ink goes, the noise floor, and the ink. */
interface InkFound {
  background: number;
  darkInk: boolean;
  noise: number;
  /** Per pixel, how far it is from the background towards the ink (0 on the other side). */
  ink: Uint8Array;
  /** The strongest ink. */
  peak: number;
}

/**
 * 2. Background: the border's median b. Ink: the side the image's mean leans to, v = b − Y
 * (dark on light) or Y − b; the noise floor t is three times the border's median deviation from b.
 */
function findInk(grey: Uint8Array, width: number, height: number): InkFound {
  const n = width * height;
  const border = borderValues(grey, width, height);
  const hist = new Uint32Array(256);
  for (const v of border) hist[v]++;
  const background = histogramMedian(hist, border.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += grey[i];
  const darkInk = sum / n < background;
  const deviations = new Uint32Array(256);
  for (const v of border) deviations[Math.abs(v - background)]++;
  const noise = 3 * histogramMedian(deviations, border.length);
  const ink = new Uint8Array(n);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const v = darkInk ? background - grey[i] : grey[i] - background;
    if (v > 0) {
      ink[i] = v;
      if (v > peak) peak = v;
    }
  }
  return { background, darkInk, noise, ink, peak };
}

/**
 * 3. Takes the noise floor off the ink, in place (v' = max(0, v − noise)), and returns the
 * bounding box of the ink above `level` (fainter pixels around a blurred digit would widen it).
 */
function cropToInk(ink: Uint8Array, width: number, height: number, noise: number, level: number): Preprocessed['box'] {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = ink[i] > noise ? ink[i] - noise : 0;
      ink[i] = v;
      if (v > level) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The ink scaled to fit BOX×BOX (values as area averages) and the gain that takes its strongest to 255. */
interface ScaledInk {
  small: Float32Array;
  width: number;
  height: number;
  gain: number;
}

/** 4. The box's ink fitted into 20×20, keeping the aspect ratio, by area averaging; null if nothing is left of it. */
function scaleToBox(ink: Uint8Array, stride: number, box: Preprocessed['box']): ScaledInk | null {
  const f = BOX / Math.max(box.width, box.height);
  const width = Math.max(1, Math.min(BOX, Math.round(box.width * f)));
  const height = Math.max(1, Math.min(BOX, Math.round(box.height * f)));
  const small = resizeArea(ink, stride, box.x, box.y, box.width, box.height, width, height);
  let top = 0;
  for (const v of small) if (v > top) top = v;
  if (!(top > 0)) return null;
  return { small, width, height, gain: 255 / top };
}

/** 5. The scaled ink in 28×28, stretched by its gain, its centre of mass (pixel indices) on (14, 14) by whole pixels, inside the frame. */
function placeByCentreOfMass({ small, width: sw, height: sh, gain }: ScaledInk): { pixels: Uint8Array; offset: Preprocessed['offset'] } {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = small[y * sw + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const ox = Math.min(SIDE - sw, Math.max(0, Math.round(CENTRE - mx / mass)));
  const oy = Math.min(SIDE - sh, Math.max(0, Math.round(CENTRE - my / mass)));
  const pixels = new Uint8Array(SIDE * SIDE);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) pixels[(oy + y) * SIDE + ox + x] = Math.min(255, Math.round(small[y * sw + x] * gain));
  }
  return { pixels, offset: { x: ox, y: oy } };
}

/** What is said of a picture with no ink (Preprocessed.ink false: its pixels are all 0), after its name; a label would be the net's answer to nothing. */
export const BLANK_MESSAGE = 'no ink found (an empty or uniform picture): nothing to classify';

/** The 784 pixels (0 background … 255 ink) of a picture, laid out as Kannada-MNIST's. */
export function preprocess(img: RasterImage): Uint8Array {
  return preprocessImage(img).pixels;
}
