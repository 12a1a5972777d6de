import { crc32, deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An RGBA picture to encode. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A 28×28 digit (0 background … 255 ink) as RGBA: white ink on black, or black on white when inverted. */
export function digitRgba(pixels: ArrayLike<number>, invert = false): Rgba {
  const data = new Uint8Array(784 * 4);
  for (let i = 0; i < 784; i++) {
    const v = invert ? 255 - pixels[i] : pixels[i];
    data.set([v, v, v, 255], i * 4);
  }
  return { width: 28, height: 28, data };
}

/**
 * PNG bytes; colorType 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA (pngjs converts from RGBA,
 * blending over white where it drops alpha); 16-bit samples are the 8-bit ones × 257.
 */
export function pngBytes(img: Rgba, colorType: 0 | 2 | 4 | 6 = 6, bitDepth: 8 | 16 = 8): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = bitDepth === 16 ? Buffer.from(Uint16Array.from(img.data, (v) => v * 257).buffer) : Buffer.from(img.data);
  return PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
}

export function jpegBytes(img: Rgba, quality = 75): Buffer {
  return jpeg.encode({ width: img.width, height: img.height, data: img.data }, quality).data;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A PNG file made by hand: IHDR for width × height (bit depth, colour type, interlace as
 * given), one IDAT holding `idat` (already deflated), IEND. With the right IDAT a "PNG bomb":
 * a few kilobytes that declare a gigapixel image.
 */
export function handMadePng(width: number, height: number, idat: Uint8Array, opts: { bitDepth?: number; colorType?: number; interlace?: 0 | 1 } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = opts.bitDepth ?? 8;
  ihdr[9] = opts.colorType ?? 0;
  ihdr[12] = opts.interlace ?? 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** A header-only PNG bomb: IHDR says width × height, the data is a token. */
export function pngBombHeader(width: number, height: number): Buffer {
  return handMadePng(width, height, deflateSync(Buffer.alloc(16)));
}

/** A JPEG with an EXIF APP1 segment (orientation 1..8) inserted after SOI. */
export function withExifOrientation(jpegFile: Uint8Array, orientation: number, littleEndian = false): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  const le = littleEndian;
  tiff.write(le ? 'II' : 'MM', 0, 'latin1');
  const u16 = (v: number, at: number) => (le ? tiff.writeUInt16LE(v, at) : tiff.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? tiff.writeUInt32LE(v, at) : tiff.writeUInt32BE(v, at));
  u16(42, 2);
  u32(8, 4); // the first directory
  u16(1, 8); // one entry:
  u16(0x0112, 10); // Orientation,
  u16(3, 12); // SHORT,
  u32(1, 14); // count 1,
  u16(orientation, 18);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([Buffer.from(jpegFile.subarray(0, 2)), seg, payload, Buffer.from(jpegFile.subarray(2))]);
}
