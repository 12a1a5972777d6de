import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataError } from '../../src/errors.js';
import { decodeImage, MAX_IMAGE_PIXELS, readImageHeader, sniffImage } from '../../src/image/decode.js';
import { handMadePng, jpegBytes, pngBombHeader, pngBytes, withExifOrientation, type Rgba } from '../helpers/images.js';

/** A width × height RGBA picture whose pixel (x, y) is colour(x, y). */
function rgba(width: number, height: number, colour: (x: number, y: number) => number[]): Rgba {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 4);
  return { width, height, data };
}

const GRADIENT = rgba(5, 3, (x, y) => [x * 50, y * 100, 255 - x * 50, 255 - y * 60]);

afterEach(() => vi.restoreAllMocks());

describe('decodeImage: PNG', () => {
  it('decodes every colour type to the same RGBA', () => {
    const grey = rgba(5, 3, (x, y) => [x * 60, x * 60, x * 60, y === 1 ? 128 : 255]);
    expect(Array.from(decodeImage(pngBytes(GRADIENT, 6), 'a.png').data)).toEqual(Array.from(GRADIENT.data));
    const opaque = rgba(5, 3, (x, y) => [x * 50, y * 100, 255 - x * 50, 255]);
    expect(Array.from(decodeImage(pngBytes(opaque, 2), 'a.png').data)).toEqual(Array.from(opaque.data));
    const ga = decodeImage(pngBytes(grey, 4), 'a.png');
    expect(Array.from(ga.data)).toEqual(Array.from(grey.data));
    const g = decodeImage(pngBytes(grey, 0), 'a.png');
    expect(g).toMatchObject({ width: 5, height: 3, channels: 4 });
    expect(g.data[4 * 4]).toBe(240);
  });

  it('reads 16-bit PNGs as 8-bit', () => {
    const img = decodeImage(pngBytes(GRADIENT, 6, 16), 'deep.png');
    expect(Array.from(img.data)).toEqual(Array.from(GRADIENT.data));
  });

  it('refuses a PNG bomb from its header, before decoding anything', () => {
    const read = vi.spyOn(PNG.sync, 'read');
    const bomb = pngBombHeader(30000, 30000);
    expect(bomb.length).toBeLessThan(100);
    expect(readImageHeader(bomb, 'bomb.png')).toEqual({ format: 'png', width: 30000, height: 30000, orientation: 1 });
    expect(() => decodeImage(bomb, 'bomb.png')).toThrow(DataError);
    expect(() => decodeImage(bomb, 'bomb.png')).toThrow('bomb.png: the image is 30000×30000 pixels (900 megapixels), more than kconv decodes (25 megapixels): scale it down');
    expect(read).not.toHaveBeenCalled();
    // Just over the limit is refused, at the limit is decoded.
    expect(() => decodeImage(pngBombHeader(5001, 5000), 'b.png')).toThrow(/5001×5000/);
    expect(() => decodeImage(pngBombHeader(100, 100), 'b.png', 9_999)).toThrow(/100×100/);
    expect(MAX_IMAGE_PIXELS).toBe(25_000_000);
  });

  it('refuses an interlaced PNG whose data inflates to more than its size allows', () => {
    const read = vi.spyOn(PNG.sync, 'read');
    const bomb = handMadePng(10, 10, deflateSync(Buffer.alloc(4 << 20)), { interlace: 1 });
    expect(bomb.length).toBeLessThan(10_000);
    expect(() => decodeImage(bomb, 'i.png')).toThrow(/i\.png: not a valid PNG image \(its data inflates to more than its size allows\)/);
    expect(read).not.toHaveBeenCalled();
  });

  it('names damaged and truncated files', () => {
    const good = pngBytes(GRADIENT);
    expect(() => decodeImage(good.subarray(0, good.length - 20), 'cut.png')).toThrow(/^cut\.png: not a valid PNG image \(.*\)/);
    expect(() => decodeImage(good.subarray(0, 20), 'head.png')).toThrow(/head\.png: not a valid PNG image \(no IHDR header/);
    const crc = Buffer.from(good);
    crc[40] ^= 0xff;
    expect(() => decodeImage(crc, 'crc.png')).toThrow(/crc\.png: not a valid PNG image/);
    expect(() => decodeImage(pngBombHeader(0, 10), 'zero.png')).toThrow(/zero\.png: the PNG header says the image is 0×10 pixels/);
  });
});

describe('decodeImage: JPEG', () => {
  it('decodes a JPEG close to what was encoded', () => {
    const img = rgba(32, 16, (x) => (x < 16 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const out = decodeImage(jpegBytes(img, 90), 'a.jpg');
    expect(out).toMatchObject({ width: 32, height: 16, channels: 4 });
    expect(out.data[(8 * 32 + 2) * 4]).toBeLessThan(20);
    expect(out.data[(8 * 32 + 29) * 4]).toBeGreaterThan(235);
  });

  it('turns the picture upright by its EXIF orientation (big- and little-endian)', () => {
    // Left half black, right half white, 32×16; orientation 6 = rotate 90° clockwise:
    // 16×32, top half black.
    const img = rgba(32, 16, (x) => (x < 16 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    for (const little of [false, true]) {
      const file = withExifOrientation(jpegBytes(img, 95), 6, little);
      expect(readImageHeader(file, 'r.jpg').orientation).toBe(6);
      const out = decodeImage(file, 'r.jpg');
      expect(out).toMatchObject({ width: 16, height: 32 });
      expect(out.data[(4 * 16 + 8) * 4]).toBeLessThan(30);
      expect(out.data[(28 * 16 + 8) * 4]).toBeGreaterThan(225);
    }
    // 8 = rotate 90° anticlockwise: the black half goes to the bottom. 3 = 180°: to the right.
    const ccw = decodeImage(withExifOrientation(jpegBytes(img, 95), 8), 'r.jpg');
    expect(ccw.data[(28 * 16 + 8) * 4]).toBeLessThan(30);
    const turned = decodeImage(withExifOrientation(jpegBytes(img, 95), 3), 'r.jpg');
    expect(turned).toMatchObject({ width: 32, height: 16 });
    expect(turned.data[(8 * 32 + 29) * 4]).toBeLessThan(30);
  });

  it('refuses a JPEG whose frame header declares too many pixels, before decoding', () => {
    const decode = vi.spyOn(jpeg, 'decode');
    const file = Buffer.from(jpegBytes(rgba(16, 16, () => [9, 9, 9, 255])));
    const sof = file.indexOf(Buffer.from([0xff, 0xc0]));
    file.writeUInt16BE(65000, sof + 5);
    file.writeUInt16BE(65000, sof + 7);
    expect(() => decodeImage(file, 'huge.jpg')).toThrow(/huge\.jpg: the image is 65000×65000 pixels \(4225 megapixels\)/);
    expect(decode).not.toHaveBeenCalled();
  });

  it('names damaged files', () => {
    const good = jpegBytes(rgba(16, 16, () => [9, 9, 9, 255]));
    expect(() => decodeImage(good.subarray(0, 12), 'cut.jpg')).toThrow(/cut\.jpg: not a valid JPEG image \(no frame header/);
    expect(() => decodeImage(Buffer.concat([good.subarray(0, 200), Buffer.alloc(50)]), 'bad.jpg')).toThrow(/^bad\.jpg: not a valid JPEG image/);
  });
});

describe('files that are no image', () => {
  it('says what the file starts with', () => {
    expect(sniffImage(Buffer.from('label,pixel0'))).toBeNull();
    expect(() => decodeImage(Buffer.from('label,pixel0,pixel1\n1,2,3\n'), 'data.csv')).toThrow('data.csv: not a PNG or JPEG image (it starts with "label,pixel0,pixel1 1,2,…"): kconv reads images in PNG and JPEG');
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow(/empty\.png: not a PNG or JPEG image \(it is empty\)/);
    expect(() => decodeImage(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0x80]), 'a.gif')).toThrow('a.gif: a GIF image: kconv reads PNG and JPEG: convert it to PNG or JPEG (e.g. with ImageMagick: convert a.gif a.png)');
    expect(() => decodeImage(Uint8Array.from([0, 1, 2, 0xff, 0xfe]), 'x.bin')).toThrow(/neither PNG's nor JPEG's/);
  });
});
