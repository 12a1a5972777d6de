import { describe, expect, it } from 'vitest';
import { preprocess, preprocessImage, resizeArea, toGrey, type RasterImage } from '../../src/image/preprocess.js';
import { Random } from '../../src/random.js';

/** A picture made by hand: `paper` everywhere, `ink` where inside(x, y), as `channels` channels. */
function picture(width: number, height: number, inside: (x: number, y: number) => boolean, opts: { paper?: number[]; ink?: number[]; channels?: 1 | 2 | 3 | 4 } = {}): RasterImage {
  const channels = opts.channels ?? 1;
  const paper = opts.paper ?? [255, 255, 255, 255].slice(0, channels);
  const ink = opts.ink ?? [0, 0, 0, 255].slice(0, channels);
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(inside(x, y) ? ink : paper, (y * width + x) * channels);
  return { width, height, channels, data };
}

/** The 28×28 pixels as rows of 0/1 (ink > 0), for readable expectations. */
const inkRows = (p: Uint8Array) => Array.from({ length: 28 }, (_, y) => Array.from(p.subarray(y * 28, y * 28 + 28), (v) => (v > 0 ? 1 : 0)).join(''));

/** Ink in rows y0..y1 and columns x0..x1 (inclusive) of 28×28, at 255. */
function block(x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const p = new Uint8Array(784);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) p[y * 28 + x] = 255;
  return p;
}

// A 40×80 rectangle of ink off-centre in a 200×150 picture: cropped, scaled by 1/4 to
// 10×20, its centre of mass (4.5, 9.5) moved to (14, 14): columns 10..19, rows 5..24.
const RECT = (x: number, y: number) => x >= 20 && x < 60 && y >= 30 && y < 110;
const EXPECTED_RECT = block(10, 5, 19, 24);

describe('preprocess: MNIST-style 28×28 from any picture', () => {
  it('crops a dark rectangle on white paper, scales it to fit 20×20 and centres it by mass', () => {
    const r = preprocessImage(picture(200, 150, RECT));
    expect(r.darkInk).toBe(true);
    expect(r.background).toBe(255);
    expect(r.box).toEqual({ x: 20, y: 30, width: 40, height: 80 });
    expect(r.scaled).toEqual({ width: 10, height: 20 });
    expect(r.offset).toEqual({ x: 10, y: 5 });
    expect(Array.from(r.pixels)).toEqual(Array.from(EXPECTED_RECT));
  });

  it('gives the same image for light ink on dark paper (not inverted)', () => {
    const r = preprocessImage(picture(200, 150, RECT, { paper: [0], ink: [255] }));
    expect(r.darkInk).toBe(false);
    expect(Array.from(r.pixels)).toEqual(Array.from(EXPECTED_RECT));
    // Grey paper, lighter grey ink: the contrast is stretched so the ink is 255.
    expect(Array.from(preprocess(picture(200, 150, RECT, { paper: [90], ink: [140] })))).toEqual(Array.from(EXPECTED_RECT));
  });

  it('reads colour: dark blue ink on yellow paper, RGB and RGBA', () => {
    const rgb = picture(200, 150, RECT, { channels: 3, paper: [250, 240, 160], ink: [20, 30, 120] });
    expect(Array.from(preprocess(rgb))).toEqual(Array.from(EXPECTED_RECT));
    const rgba = picture(200, 150, RECT, { channels: 4, paper: [250, 240, 160, 255], ink: [20, 30, 120, 255] });
    expect(Array.from(preprocess(rgba))).toEqual(Array.from(EXPECTED_RECT));
  });

  it('puts transparent pixels on paper that contrasts with the ink, whatever colour they hold', () => {
    // Black ink on a transparent background whose RGB is black too (common in drawing apps).
    const black = picture(200, 150, RECT, { channels: 4, paper: [0, 0, 0, 0], ink: [0, 0, 0, 255] });
    expect(Array.from(toGrey(black).subarray(0, 3))).toEqual([255, 255, 255]);
    expect(Array.from(preprocess(black))).toEqual(Array.from(EXPECTED_RECT));
    // White ink on transparent white.
    const white = picture(200, 150, RECT, { channels: 4, paper: [255, 255, 255, 0], ink: [255, 255, 255, 255] });
    expect(Array.from(preprocess(white))).toEqual(Array.from(EXPECTED_RECT));
    // Grey + alpha, half-transparent ink: still the same shape.
    const ga = picture(200, 150, RECT, { channels: 2, paper: [0, 0], ink: [0, 128] });
    expect(Array.from(preprocess(ga))).toEqual(Array.from(EXPECTED_RECT));
    // Mostly opaque paper with a transparent frame: the frame takes the paper's colour.
    const framed = picture(200, 150, RECT, { channels: 4, paper: [255, 255, 255, 255], ink: [0, 0, 0, 255] });
    for (let y = 0; y < 150; y++) for (let x = 0; x < 5; x++) (framed.data as Uint8Array).set([0, 0, 0, 0], (y * 200 + x) * 4);
    expect(Array.from(preprocess(framed))).toEqual(Array.from(EXPECTED_RECT));
  });

  it('keeps the aspect ratio of a wide shape: 100×20 becomes 20×4, centred by mass', () => {
    const r = preprocessImage(picture(300, 100, (x, y) => x >= 150 && x < 250 && y >= 10 && y < 30));
    expect(r.scaled).toEqual({ width: 20, height: 4 });
    // Centre of mass (9.5, 1.5): offset round(4.5) = 5, round(12.5) = 13 (halves round up).
    expect(r.offset).toEqual({ x: 5, y: 13 });
    expect(inkRows(r.pixels).slice(12, 18)).toEqual(['0'.repeat(28), ...Array(4).fill('00000' + '1'.repeat(20) + '000'), '0'.repeat(28)]);
  });

  it('centres by mass, not by the box: an L shape sits off its box centre', () => {
    // A 40×40 box: a full-height bar 8 wide at the left, and a foot 8 tall along the bottom.
    const L = (x: number, y: number) => x >= 50 && x < 90 && y >= 50 && y < 90 && (x < 58 || y >= 82);
    const r = preprocessImage(picture(160, 160, L));
    expect(r.scaled).toEqual({ width: 20, height: 20 });
    // Scaled by 1/2: bar columns 0..3 rows 0..19, foot rows 16..19 columns 4..19.
    // Mass: bar 80 px, foot 64 px; x̄ = (80·1.5 + 64·11.5)/144 = 5.94, ȳ = (80·9.5 + 64·17.5)/144 = 13.06.
    expect(r.offset).toEqual({ x: Math.round(14 - (80 * 1.5 + 64 * 11.5) / 144), y: Math.round(14 - (80 * 9.5 + 64 * 17.5) / 144) });
    expect(r.offset).toEqual({ x: 8, y: 1 });
    expect(inkRows(r.pixels)[1]).toBe('0000000011110000000000000000');
    expect(inkRows(r.pixels)[20]).toBe('0000000011111111111111111111');
  });

  it('keeps a shape whose mass is far off-centre inside the frame', () => {
    // A thin bar with a heavy blob at its top: the mass wants the box to go above row 0.
    const shape = (x: number, y: number) => (x >= 100 && x < 104 && y >= 0 && y < 200) || (x >= 80 && x < 124 && y < 40);
    const r = preprocessImage(picture(220, 220, (x, y) => shape(x, y + 10)));
    expect(r.offset.y).toBeGreaterThanOrEqual(0);
    expect(r.offset.y + r.scaled.height).toBeLessThanOrEqual(28);
  });

  it('averages areas when it shrinks (not nearest neighbour)', () => {
    // 3 → 2: each output pixel covers 1.5 input pixels.
    expect(Array.from(resizeArea([0, 255, 0], 3, 0, 0, 3, 1, 2, 1))).toEqual([85, 85]);
    // 4 → 2: plain means of pairs.
    expect(Array.from(resizeArea([0, 100, 200, 40], 4, 0, 0, 4, 1, 2, 1))).toEqual([50, 120]);
    // A one-pixel line in a 100-pixel-high picture is faint after the 1/5 shrink, not lost or solid.
    const r = preprocessImage(picture(100, 100, (x, y) => (x === 50 && y < 100) || (y === 0 && x > 30 && x < 70)));
    const values = new Set(r.pixels);
    expect([...values].some((v) => v > 0 && v < 255)).toBe(true);
  });

  it('a picture that is already a centred 28×28 digit comes back unchanged', () => {
    const img: RasterImage = { width: 28, height: 28, channels: 1, data: EXPECTED_RECT };
    expect(Array.from(preprocess(img))).toEqual(Array.from(EXPECTED_RECT));
  });

  it('ignores paper grain and JPEG-like noise below its noise floor', () => {
    // 44×80 scales to 11×20 (centre of mass 5, 9.5: no rounding tie for the noise to tip).
    const random = new Random(3);
    const img = picture(200, 150, (x, y) => x >= 20 && x < 64 && y >= 30 && y < 110);
    const data = img.data as Uint8Array;
    for (let i = 0; i < data.length; i++) data[i] = data[i] === 255 ? 255 - random.int(12) : random.int(12);
    const r = preprocessImage(img);
    expect(r.box).toEqual({ x: 20, y: 30, width: 44, height: 80 });
    expect(inkRows(r.pixels)).toEqual(inkRows(block(9, 5, 19, 24)));
  });

  it('a blank picture gives 784 zeros', () => {
    for (const value of [0, 255, 77]) {
      const r = preprocessImage(picture(50, 40, () => false, { paper: [value] }));
      expect(r.ink).toBe(false);
      expect(r.pixels.every((v) => v === 0)).toBe(true);
    }
    expect(preprocess({ width: 1, height: 1, channels: 4, data: [0, 0, 0, 0] }).every((v) => v === 0)).toBe(true);
  });

  it('refuses data that does not match its size', () => {
    expect(() => preprocess({ width: 3, height: 3, channels: 1, data: new Uint8Array(8) })).toThrow(/9/);
    expect(() => preprocess({ width: 0, height: 3, channels: 1, data: new Uint8Array(0) })).toThrow(/positive/);
  });
});
