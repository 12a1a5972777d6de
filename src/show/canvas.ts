import { BACKGROUND, diverging, grey, sequential, type Rgb } from './colors.js';
import { advance, CAP_ROWS, glyph, GLYPH_ROWS, textWidth } from './font.js';

export type Align = 'left' | 'center' | 'right';

export interface TextOptions {
  color: Rgb;
  /** Each font pixel becomes scale×scale pixels. Default 2. */
  scale?: number;
  /** Where x is: the text's left edge, centre or right edge. Default left. */
  align?: Align;
  /** Turn the text 90° anticlockwise so that it reads upwards (a y-axis label); see drawText. */
  vertical?: boolean;
}

/** A 2-D array of values to draw, row-major. */
export interface Image {
  width: number;
  height: number;
  data: ArrayLike<number>;
  /** Where in `data` the image starts (default 0): lets a channel of a C×H×W array be drawn without copying. */
  offset?: number;
}

/**
 * An RGBA raster, opaque, the picture being drawn: rectangles, enlarged images on a
 * colour scale, text in the bitmap font, and antialiased lines and dots for plots.
 * Coordinates are pixels, x to the right, y down; drawing outside is clipped.
 */
export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = BACKGROUND) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`canvas: bad size ${width}×${height}`);
    }
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = background[0];
      this.data[i + 1] = background[1];
      this.data[i + 2] = background[2];
      this.data[i + 3] = 255;
    }
  }

  /** The colour at (x, y). */
  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** Paints one pixel, mixing with what is there when alpha < 1. */
  setPixel(x: number, y: number, c: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const i = (y * this.width + x) * 4;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
    } else {
      d[i] = Math.round(d[i] + (c[0] - d[i]) * alpha);
      d[i + 1] = Math.round(d[i + 1] + (c[1] - d[i + 1]) * alpha);
      d[i + 2] = Math.round(d[i + 2] + (c[2] - d[i + 2]) * alpha);
    }
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    const d = this.data;
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 4;
        d[i] = c[0];
        d[i + 1] = c[1];
        d[i + 2] = c[2];
      }
    }
  }

  /** A rectangle's outline, `t` pixels thick, drawn just outside the w×h area at x, y. */
  frame(x: number, y: number, w: number, h: number, c: Rgb, t = 1): void {
    this.fillRect(x - t, y - t, w + 2 * t, t, c);
    this.fillRect(x - t, y + h, w + 2 * t, t, c);
    this.fillRect(x - t, y, t, h, c);
    this.fillRect(x + w, y, t, h, c);
  }

  /** Draws an image enlarged `scale` times at x, y, each value coloured by `color`. */
  drawImage(image: Image, x: number, y: number, scale: number, color: (v: number) => Rgb): void {
    const off = image.offset ?? 0;
    for (let r = 0; r < image.height; r++) {
      for (let c = 0; c < image.width; c++) {
        this.fillRect(x + c * scale, y + r * scale, scale, scale, color(image.data[off + r * image.width + c]));
      }
    }
  }

  /** Pixels as stored (0 background, 255 ink) in grey: 0 black, 255 white. */
  drawGrey(image: Image, x: number, y: number, scale: number): void {
    this.drawImage(image, x, y, scale, grey);
  }

  /** Signed values on the blue–white–red scale, symmetric around 0 (±absMax saturate). */
  drawHeatmap(image: Image, x: number, y: number, scale: number, absMax: number): void {
    this.drawImage(image, x, y, scale, (v) => diverging(v, absMax));
  }

  /** Values ≥ 0 on the black–purple–yellow scale, `max` the brightest. */
  drawActivation(image: Image, x: number, y: number, scale: number, max: number): void {
    this.drawImage(image, x, y, scale, (v) => sequential(v, max));
  }

  /**
   * Text in the bitmap font. (x, y) is the top of the capitals at the left, centre or
   * right end of the text; capitals are 7·scale pixels tall, descenders go 2·scale lower.
   * With `vertical` the text reads upwards, the tops of its letters to the left: x is
   * where the capitals' tops are, and the text starts at y going up (left), is centred
   * on y (center) or ends at y (right). Returns the text's length in pixels.
   */
  drawText(text: string, x: number, y: number, opts: TextOptions): number {
    const scale = opts.scale ?? 2;
    const length = textWidth(text, scale);
    const shift = opts.align === 'center' ? Math.round(length / 2) : opts.align === 'right' ? length : 0;
    let pen = 0;
    for (const ch of text) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_ROWS; r++) {
        for (let c = 0; c < g.width; c++) {
          if (!g.ink[r][c]) continue;
          if (opts.vertical) {
            // Turned anticlockwise: the text runs up from y + shift, its top towards x.
            this.fillRect(x + r * scale, y + shift - (pen + c + 1) * scale, scale, scale, opts.color);
          } else {
            this.fillRect(x - shift + (pen + c) * scale, y + r * scale, scale, scale, opts.color);
          }
        }
      }
      pen += advance(g);
    }
    return length;
  }

  /** An antialiased line of width `w` from (x0, y0) to (x1, y1), with round ends. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, w = 1): void {
    const r = w / 2;
    const minX = Math.floor(Math.min(x0, x1) - r - 1);
    const maxX = Math.ceil(Math.max(x0, x1) + r + 1);
    const minY = Math.floor(Math.min(y0, y1) - r - 1);
    const maxY = Math.ceil(Math.max(y0, y1) + r + 1);
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    for (let py = minY; py <= maxY; py++) {
      for (let px = minX; px <= maxX; px++) {
        const cx = px + 0.5;
        const cy = py + 0.5;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((cx - x0) * dx + (cy - y0) * dy) / len2));
        const ex = x0 + t * dx - cx;
        const ey = y0 + t * dy - cy;
        const d = Math.sqrt(ex * ex + ey * ey);
        this.setPixel(px, py, c, Math.min(1, r + 0.5 - d));
      }
    }
  }

  /** A filled, antialiased disc. */
  disc(cx: number, cy: number, radius: number, c: Rgb): void {
    this.line(cx, cy, cx, cy, c, 2 * radius);
  }

  /** A dashed line along x = const or y = const (axis-aligned only). */
  dashed(x0: number, y0: number, x1: number, y1: number, c: Rgb, dash = 4, gap = 4): void {
    if (x0 === x1) {
      for (let y = Math.min(y0, y1); y < Math.max(y0, y1); y += dash + gap) this.fillRect(x0, y, 1, Math.min(dash, Math.max(y0, y1) - y), c);
    } else {
      for (let x = Math.min(x0, x1); x < Math.max(x0, x1); x += dash + gap) this.fillRect(x, y0, Math.min(dash, Math.max(x0, x1) - x), 1, c);
    }
  }

  /** A horizontal strip showing a colour scale from lo to hi (left to right). */
  colorBar(x: number, y: number, w: number, h: number, color: (t: number) => Rgb): void {
    for (let i = 0; i < w; i++) this.fillRect(x + i, y, 1, h, color(w === 1 ? 0 : i / (w - 1)));
  }
}

/** Height in pixels of one line of text at `scale`, capitals only (no descenders). */
export const capHeight = (scale = 2): number => CAP_ROWS * scale;
/** Height in pixels of one line of text at `scale`, with descenders. */
export const lineHeight = (scale = 2): number => GLYPH_ROWS * scale;
