import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { ModelFile } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { Random } from '../../src/random.js';
import { digitPixels } from './digits.js';
import { digitRgba, jpegBytes, pngBytes, type Rgba } from './images.js';

/** A digit picture: dark ink on light paper, 40×40. */
export function digitPicture(label: number, seed: number): Rgba {
  const small = digitRgba(digitPixels(label, new Random(seed)), true);
  const data = new Uint8Array(40 * 40 * 4).fill(255);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) data.set(small.data.subarray((y * 28 + x) * 4, (y * 28 + x) * 4 + 4), ((y + 6) * 40 + x + 6) * 4);
  return { width: 40, height: 40, data };
}

/** A uniform picture of one grey (an empty page, a photo of nothing). */
export function uniform(width: number, height: number, grey: number): Rgba {
  const data = new Uint8Array(width * height * 4).fill(grey);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

/** Starts of files in formats kconv does not decode: [file name, format, bytes]. */
export const OTHER_PICTURES: [string, string, Buffer][] = [
  ['x.webp', 'WebP', Buffer.concat([Buffer.from('RIFF\x24\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(40, 7)])],
  ['x.gif', 'GIF', Buffer.concat([Buffer.from('GIF89a\x10\0\x10\0\x80\0\0', 'latin1'), Buffer.alloc(40)])],
  ['x.bmp', 'BMP', Buffer.concat([Buffer.from('BM\x46\0\0\0\0\0\0\0\x36\0\0\0', 'latin1'), Buffer.alloc(40)])],
  ['x.tiff', 'TIFF', Buffer.concat([Buffer.from('II*\0\x08\0\0\0', 'latin1'), Buffer.alloc(40)])],
];

/** Writes into dir one.png (a 3), two.jpg (a 7), blank.png and black.jpg (no digit), and OTHER_PICTURES. */
export function writePictures(dir: string): void {
  const p = (name: string) => join(dir, name);
  writeFileSync(p('one.png'), pngBytes(digitPicture(3, 1)));
  writeFileSync(p('two.jpg'), jpegBytes(digitPicture(7, 2), 90));
  writeFileSync(p('blank.png'), pngBytes(uniform(60, 40, 250)));
  writeFileSync(p('black.jpg'), jpegBytes(uniform(30, 30, 0)));
  for (const [name, , bytes] of OTHER_PICTURES) writeFileSync(p(name), bytes);
}

/** The labels `model` gives these picture files, computed in this process: decode, preprocess, predict (one thread). */
export async function labelsOf(model: ModelFile, files: string[]): Promise<number[]> {
  const pixels = new Uint8Array(files.length * 784);
  files.forEach((f, i) => pixels.set(preprocess(decodeImage(readFileSync(f), f)), i * 784));
  return Array.from((await predict(model, { n: files.length, pixels, labels: null, ids: null }, 1)).labels);
}
