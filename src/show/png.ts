import { PNG } from 'pngjs';
import type { Canvas } from './canvas.js';

/** The canvas as a PNG file (8-bit RGB; the canvas is opaque, so no alpha channel). */
export function encodePng(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputHasAlpha: true, deflateLevel: 9 });
}
