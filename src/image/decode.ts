import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { pictureFormat, unreadablePicture } from '../data/magic.js';
import { DataError } from '../errors.js';
import type { RasterImage } from './preprocess.js';

/**
 * Decoding PNG and JPEG files (pngjs, jpeg-js: pure JavaScript) into RGBA, with the size
 * read from the header and bounded BEFORE anything is decoded: a few kilobytes of PNG can
 * declare 30000×30000 pixels (a "PNG bomb") and would take gigabytes to decode.
 */

/** Most pixels an image may have: 25 megapixels, e.g. 6000×4000 (RGBA: 100 MB while decoding). */
export const MAX_IMAGE_PIXELS = 25_000_000;

export type ImageFormat = 'png' | 'jpeg';

/** What the header says. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** JPEG's EXIF orientation, 1 (as stored) to 8; always 1 for PNG. */
  orientation: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format by the first bytes, or null when they are neither PNG's nor JPEG's. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

const u32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];

/** A describable start of a file that is no image, for the error message. */
function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'it is empty';
  const head = Buffer.from(bytes.subarray(0, 24)).toString('latin1');
  return /^[\x20-\x7e\t\r\n]+$/.test(head) ? `it starts with "${head.replace(/\s+/g, ' ').trim()}…"` : 'its first bytes are neither PNG\'s nor JPEG\'s';
}

function pngHeader(bytes: Uint8Array, name: string): ImageHeader {
  // The first chunk must be IHDR: length 13, then width, height (4 bytes each).
  if (bytes.length < 33 || u32(bytes, 8) !== 13 || Buffer.from(bytes.subarray(12, 16)).toString('latin1') !== 'IHDR') {
    throw new DataError(`${name}: not a valid PNG image (no IHDR header at its start: the file is truncated or damaged)`, name);
  }
  return { format: 'png', width: u32(bytes, 16), height: u32(bytes, 20), orientation: 1 };
}

/** SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC) carry the frame size. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** The EXIF orientation in an APP1 segment (data after the length), or 1. Bounds-checked throughout. */
export function exifOrientation(seg: Uint8Array): number {
  if (seg.length < 14 || Buffer.from(seg.subarray(0, 6)).toString('latin1') !== 'Exif\0\0') return 1;
  const t = seg.subarray(6);
  const little = t[0] === 0x49 && t[1] === 0x49;
  if (!little && !(t[0] === 0x4d && t[1] === 0x4d)) return 1;
  const r16 = (i: number) => (little ? t[i] | (t[i + 1] << 8) : (t[i] << 8) | t[i + 1]);
  const r32 = (i: number) => (little ? (t[i] | (t[i + 1] << 8) | (t[i + 2] << 16) | (t[i + 3] << 24)) >>> 0 : u32(t, i));
  if (r16(2) !== 42) return 1;
  const ifd = r32(4);
  if (ifd + 2 > t.length) return 1;
  const count = r16(ifd);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > t.length) return 1;
    if (r16(e) === 0x0112) {
      const value = r16(e + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function jpegHeader(bytes: Uint8Array, name: string): ImageHeader {
  let orientation = 1;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) break;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // no length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or the scan: the frame header comes first
    const length = u16(bytes, i + 2);
    if (length < 2 || i + 2 + length > bytes.length) break;
    const seg = bytes.subarray(i + 4, i + 2 + length);
    if (marker === 0xe1) orientation = exifOrientation(seg);
    if (isSof(marker) && seg.length >= 5) return { format: 'jpeg', width: u16(seg, 3), height: u16(seg, 1), orientation };
    i += 2 + length;
  }
  throw new DataError(`${name}: not a valid JPEG image (no frame header with its size: the file is truncated or damaged)`, name);
}

/** Format and size from the header alone; refuses a file that is no PNG or JPEG. */
export function readImageHeader(bytes: Uint8Array, name: string): ImageHeader {
  const format = sniffImage(bytes);
  const other = format === null ? pictureFormat(bytes) : null;
  if (other !== null) throw new DataError(`${name}: ${unreadablePicture(name, other)}`, name);
  if (format === null) throw new DataError(`${name}: not a PNG or JPEG image (${describeStart(bytes)}): kconv reads images in PNG and JPEG`, name);
  return format === 'png' ? pngHeader(bytes, name) : jpegHeader(bytes, name);
}

/** An image whose header declares more pixels than kconv decodes (a server answers 413). */
export class ImageTooLarge extends DataError {}

/** Refuses sizes of 0 and sizes over the limit, saying what to do. */
function checkSize(h: ImageHeader, name: string, maxPixels: number): void {
  if (h.width === 0 || h.height === 0) throw new DataError(`${name}: the ${h.format.toUpperCase()} header says the image is ${h.width}×${h.height} pixels: the file is damaged`, name);
  if (h.width * h.height > maxPixels) {
    const mp = (n: number) => `${Math.round(n / 1e5) / 10} megapixels`;
    throw new ImageTooLarge(`${name}: the image is ${h.width}×${h.height} pixels (${mp(h.width * h.height)}), more than kconv decodes (${mp(maxPixels)}): scale it down`, name);
  }
}

/**
 * An interlaced PNG is inflated by pngjs without a bound, so check first that its data
 * inflates to no more than its size allows (a small file must not become gigabytes).
 */
function checkInterlacedPng(bytes: Uint8Array, h: ImageHeader, name: string): void {
  if (bytes[28] !== 1) return;
  const parts: Uint8Array[] = [];
  for (let i = 8; i + 12 <= bytes.length;) {
    const length = u32(bytes, i);
    const type = Buffer.from(bytes.subarray(i + 4, i + 8)).toString('latin1');
    if (i + 12 + length > bytes.length) break;
    if (type === 'IDAT') parts.push(bytes.subarray(i + 8, i + 8 + length));
    if (type === 'IEND') break;
    i += 12 + length;
  }
  // 16-bit RGBA is 8 bytes a pixel; each of the 7 passes adds a filter byte per row.
  const bound = h.width * h.height * 8 + 7 * (h.height + 1) + 1024;
  try {
    inflateSync(Buffer.concat(parts), { maxOutputLength: bound });
  } catch (error) {
    throw new DataError(`${name}: not a valid PNG image (its data ${(error as Error).name === 'RangeError' ? 'inflates to more than its size allows' : 'is damaged'})`, name);
  }
}

/** Applies an EXIF orientation (2..8) to RGBA pixels, so the picture stands as it was taken. */
export function orient(img: RasterImage & { data: Uint8Array }, orientation: number): RasterImage & { data: Uint8Array } {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const s = (sy * w + sx) * 4;
      const d = (y * ow + x) * 4;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
      out[d + 3] = data[s + 3];
    }
  }
  return { width: ow, height: oh, channels: 4, data: out };
}

// Each decoder is loaded when a picture of its kind first comes (both are CommonJS, so
// `require` keeps decodeImage synchronous): a PNG never loads jpeg-js, and kconv predict
// one.png starts faster (docs/performance.md, Start-up).
const require = createRequire(import.meta.url);
const pngjs = (): typeof import('pngjs') => require('pngjs');
const jpegJs = (): typeof import('jpeg-js') => require('jpeg-js');

/**
 * Decodes a PNG or JPEG file's bytes to RGBA, upright (JPEG's EXIF orientation applied).
 * `name` (a path, or "the request body") starts every error message.
 */
export function decodeImage(bytes: Uint8Array, name: string, maxPixels = MAX_IMAGE_PIXELS): RasterImage & { data: Uint8Array } {
  const header = readImageHeader(bytes, name);
  checkSize(header, name, maxPixels);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.format === 'png') {
    checkInterlacedPng(bytes, header, name);
    let png: { width: number; height: number; data: Buffer };
    try {
      png = pngjs().PNG.sync.read(buffer);
    } catch (error) {
      const why = /read requests/.test((error as Error).message) ? 'it ends too early' : (error as Error).message;
      throw new DataError(`${name}: not a valid PNG image (${why}: the file is damaged or truncated)`, name);
    }
    return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  }
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpegJs().decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 1024 });
  } catch (error) {
    throw new DataError(`${name}: not a valid JPEG image (${(error as Error).message}: the file is damaged, truncated or of a kind kconv cannot decode)`, name);
  }
  if (raw.width !== header.width || raw.height !== header.height || raw.data.length !== raw.width * raw.height * 4) {
    throw new DataError(`${name}: not a valid JPEG image (it decodes to ${raw.width}×${raw.height}, its header says ${header.width}×${header.height})`, name);
  }
  return orient({ width: raw.width, height: raw.height, channels: 4, data: raw.data }, header.orientation);
}
