/** Shared measures and helpers of the picture layouts. */

import { Canvas, capHeight, lineHeight, type TextOptions } from './canvas.js';
import { diverging, MUTED, TILE_FRAME } from './colors.js';
import { textWidth } from './font.js';

/** Space around a picture's content. */
export const MARGIN = 24;

/** A rectangle on the canvas. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A short, readable number for a scale's range: 3.1, 0.62, 0.048, 12.5, 1.2e-5. */
export function short(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return String(Number(v.toPrecision(2)));
  return v.toExponential(1);
}

/** Largest absolute value (0 for none). */
export function absMax(values: ArrayLike<number>, from = 0, to = values.length): number {
  let m = 0;
  for (let i = from; i < to; i++) {
    const a = Math.abs(values[i]);
    if (a > m) m = a;
  }
  return m;
}

export { baseName } from './base-name.js';

/**
 * A picture being laid out: drawing steps are recorded with the area they cover, so
 * the canvas can be made exactly big enough (plus the margin) once everything is placed.
 */
export class Sketch {
  private right = 0;
  private bottom = 0;
  private readonly steps: ((c: Canvas) => void)[] = [];

  /** Records a drawing step covering `box`. */
  add(box: Box, step: (c: Canvas) => void): void {
    this.cover(box);
    this.steps.push(step);
  }

  /** Makes sure the picture includes `box` (without drawing anything). */
  cover(box: Box): void {
    this.right = Math.max(this.right, Math.ceil(box.x + box.w));
    this.bottom = Math.max(this.bottom, Math.ceil(box.y + box.h));
  }

  /** Records text (see Canvas.drawText); returns its length in pixels. */
  text(text: string, x: number, y: number, opts: TextOptions): number {
    const scale = opts.scale ?? 2;
    const length = textWidth(text, scale);
    const start = opts.align === 'center' ? Math.round(length / 2) : opts.align === 'right' ? length : 0;
    const box = opts.vertical
      ? { x, y: y + start - length, w: lineHeight(scale), h: length }
      : { x: x - start, y, w: length, h: lineHeight(scale) };
    this.add(box, (c) => c.drawText(text, x, y, opts));
    return length;
  }

  /** The content's right and bottom edges so far. */
  get extent(): { right: number; bottom: number } {
    return { right: this.right, bottom: this.bottom };
  }

  /** Draws everything on a canvas reaching `margin` beyond the content. */
  render(margin = MARGIN): Canvas {
    const canvas = new Canvas(Math.max(1, this.right + margin), Math.max(1, this.bottom + margin));
    for (const step of this.steps) step(canvas);
    return canvas;
  }
}

/**
 * The blue–white–red key of the diverging scale, `w` wide at (x, y), labelled −max, 0
 * and +max underneath. Returns the y just below the labels.
 */
export function divergingKey(s: Sketch, x: number, y: number, w: number): number {
  const box = { x, y, w, h: 12 };
  s.add(box, (c) => {
    c.colorBar(box.x, box.y, box.w, box.h, (t) => diverging(2 * t - 1, 1));
    c.frame(box.x, box.y, box.w, box.h, TILE_FRAME);
  });
  const labels = y + box.h + 6;
  s.text('−max', x, labels, { color: MUTED });
  s.text('0', x + w / 2 + 1, labels, { color: MUTED, align: 'center' });
  s.text('+max', x + w, labels, { color: MUTED, align: 'right' });
  return labels + capHeight(2);
}
