/**
 * The digit drawn in a terminal, two pixel rows per line, and the prediction under it:
 * in 256-colour greys on a terminal, in plain characters elsewhere (a pipe, a file,
 * NO_COLOR), so that no escape codes end up in files.
 */
import { CLASSES } from '../net/input.js';

export const UPPER_HALF = '▀';
const RESET = '\x1b[0m';

/** The 256-colour palette's greys: 16 is black, 232..255 are 8, 18, …, 238, 231 is white. */
const GREYS: readonly (readonly [code: number, level: number])[] = [
  [16, 0],
  ...Array.from({ length: 24 }, (_, i) => [232 + i, 8 + 10 * i] as const),
  [231, 255],
];

/** The 256-colour code of the grey nearest to `value` (0..255). */
export function grey256(value: number): number {
  let best = GREYS[0];
  for (const g of GREYS) if (Math.abs(g[1] - value) < Math.abs(best[1] - value)) best = g;
  return best[0];
}

/**
 * A greyscale image as lines of upper-half blocks: the block (foreground) is the upper
 * pixel, the cell's background the lower one, so each line shows two rows of pixels
 * (a 28×28 digit takes 28 columns × 14 lines). 0 is black, 255 white, in the terminal's
 * 256-colour greys; every line ends by resetting the colours.
 */
export function halfBlocks(pixels: ArrayLike<number>, width = 28, height = 28): string[] {
  const lines: string[] = [];
  for (let r = 0; r < height; r += 2) {
    let line = '';
    let fg = -1;
    let bg = -1;
    for (let c = 0; c < width; c++) {
      const top = grey256(pixels[r * width + c]);
      const bottom = r + 1 < height ? grey256(pixels[(r + 1) * width + c]) : 16;
      if (top !== fg) line += `\x1b[38;5;${(fg = top)}m`;
      if (bottom !== bg) line += `\x1b[48;5;${(bg = bottom)}m`;
      line += UPPER_HALF;
    }
    lines.push(line + RESET);
  }
  return lines;
}

/** Characters from light to dark ink: a grey level without colour codes. */
export const SHADES = ' .:-=+*#%@';

/**
 * The same picture in plain characters: each character stands for two pixel rows (their
 * mean), so the digit keeps its shape in 28 columns × 14 lines.
 */
export function shadeLines(pixels: ArrayLike<number>, width = 28, height = 28): string[] {
  const lines: string[] = [];
  for (let r = 0; r < height; r += 2) {
    let line = '';
    for (let c = 0; c < width; c++) {
      const v = r + 1 < height ? (pixels[r * width + c] + pixels[(r + 1) * width + c]) / 2 : pixels[r * width + c];
      line += SHADES[Math.min(SHADES.length - 1, Math.floor((v / 256) * SHADES.length))];
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `fraction` × `width` cells, drawn to an eighth of a cell. */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

export interface TerminalView {
  pixels: ArrayLike<number>;
  probs: ArrayLike<number>;
  predicted: number;
  label: number | null;
  /** What the image is, e.g. "row 3 of val.csv". */
  where: string;
  /** How many of the most probable digits to list. */
  top?: number;
  /** Draw in 256-colour greys (a terminal) rather than plain characters. Default true. */
  color?: boolean;
}

/**
 * The terminal picture: 14 lines of half blocks, then a line with the prediction (and the
 * true label where there is one), then the most probable digits with their bars (and the
 * true digit's, when it is not among them).
 */
export function terminalView(v: TerminalView): string {
  const order = Array.from({ length: CLASSES }, (_, k) => k).sort((a, b) => v.probs[b] - v.probs[a] || a - b);
  const verdict = v.label === null
    ? `predicted ${v.predicted}`
    : `true ${v.label}, predicted ${v.predicted}${v.label === v.predicted ? '' : ' (wrong)'}`;
  const picture = v.color === false ? shadeLines(v.pixels) : halfBlocks(v.pixels);
  const lines = [...picture, `${v.where}: ${verdict}`];
  const shown = order.slice(0, v.top ?? 3);
  // The true digit is always listed, even when it is not among the most probable.
  if (v.label !== null && !shown.includes(v.label)) shown.push(v.label);
  for (const k of shown) {
    const pct = `${(v.probs[k] * 100).toFixed(1)}%`.padStart(6);
    const mark = k === v.label ? '  ← true' : '';
    lines.push(`  ${k}  ${pct}  ${bar(v.probs[k], 30)}${mark}`);
  }
  return lines.join('\n') + '\n';
}
