/** Colours and colour scales for the pictures `kconv show` draws. */

/** An opaque colour: red, green, blue, each 0..255. */
export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
/** The picture background. */
export const BACKGROUND: Rgb = WHITE;
/** Titles and labels. */
export const TEXT: Rgb = [33, 37, 41];
/** Secondary text: ranges, notes, tick labels. */
export const MUTED: Rgb = [108, 117, 125];
/** Axes and tile frames. */
export const AXIS: Rgb = [73, 80, 87];
/** Grid lines in plots. */
export const GRID: Rgb = [230, 232, 235];
/** Bars that are neither predicted nor true. */
export const BAR: Rgb = [173, 181, 189];
/** Right: a correct prediction, the true label. */
export const GOOD: Rgb = [25, 135, 84];
/** Wrong: a mistaken prediction. */
export const BAD: Rgb = [214, 51, 65];
/** The two series of a training curve. */
export const TRAIN: Rgb = [31, 119, 180];
export const VAL: Rgb = [255, 127, 14];

function lerp(stops: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** ColorBrewer RdBu, blue for negative through near-white to red for positive. */
const DIVERGING: readonly Rgb[] = [
  [33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247], [253, 219, 199], [239, 138, 98], [178, 24, 43],
];

/**
 * Diverging scale symmetric around 0: −absMax is deep blue, 0 is near-white
 * (247, 247, 247), +absMax deep red; values beyond ±absMax are clamped.
 */
export function diverging(value: number, absMax: number): Rgb {
  if (!(absMax > 0)) return DIVERGING[3];
  return lerp(DIVERGING, 0.5 + value / (2 * absMax));
}

/** Matplotlib's "inferno", sampled: black through purple and orange to pale yellow. */
const INFERNO: readonly Rgb[] = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];

/** Sequential scale for activations (≥ 0): 0 is black, `max` pale yellow. */
export function sequential(value: number, max: number): Rgb {
  if (!(max > 0)) return INFERNO[0];
  return lerp(INFERNO, value / max);
}

/** A pixel as it is stored: 0 (background) black, 255 (ink) white. */
export function grey(value: number): Rgb {
  const v = Math.min(255, Math.max(0, Math.round(value)));
  return [v, v, v];
}

/** Mixes a colour with white: amount 0 gives the colour, 1 white. */
export function tint(c: Rgb, amount: number): Rgb {
  return [Math.round(c[0] + (255 - c[0]) * amount), Math.round(c[1] + (255 - c[1]) * amount), Math.round(c[2] + (255 - c[2]) * amount)];
}

/** The thin frame around every tile (filters, feature maps, keys). */
export const TILE_FRAME: Rgb = [206, 212, 218];
