import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { decodeImage } from '../../src/image/decode.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

// The page's pictures of the digits (src/serve/public/digit-shapes.png) are what
// src/serve/make-digit-shapes.mjs makes of train.csv: the mean of each class's images.
const ASSET = new URL('../../src/serve/public/digit-shapes.png', import.meta.url);

describe("the page's digit shapes", () => {
  it('are the rounded mean of train.csv’s images of each digit', async () => {
    const { images } = await readDataset(dataFile('train.csv'));
    const sums = new Float64Array(10 * 784);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < images.n; i++) {
      const k = images.labels![i];
      counts[k]++;
      for (let p = 0; p < 784; p++) sums[k * 784 + p] += images.pixels[i * 784 + p];
    }
    const img = decodeImage(readFileSync(ASSET), 'digit-shapes.png');
    for (let k = 0; k < 10; k++) {
      const got = Array.from({ length: 784 }, (_, i) => img.data[(Math.floor(i / 28) * 280 + k * 28 + (i % 28)) * 4]);
      const want = Array.from({ length: 784 }, (_, i) => Math.round(sums[k * 784 + i] / counts[k]));
      expect(got, `digit ${k}`).toEqual(want);
    }
  });

  it('the script makes the committed file again, byte for byte', () => {
    const out = join(tempDir('kconv-shapes-'), 'shapes.png');
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../../src/serve/make-digit-shapes.mjs', import.meta.url)), dataFile('train.csv'), out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/means of 800, 800, 800, 800, 800, 800, 800, 800, 800, 800 images of 0…9/);
    expect(readFileSync(out).equals(readFileSync(ASSET))).toBe(true);
  });
});
