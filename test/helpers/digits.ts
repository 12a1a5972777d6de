import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/index.js';
import { Random } from '../../src/random.js';

/**
 * Synthetic, learnable "digits" for tests that must not need the real data: class k
 * is a bright 3-pixel-wide bar, vertical at column 2 + 2k for even k and horizontal
 * at row 2 + 2k for odd k, jittered by a pixel, on faint noise.
 */
export function digitPixels(label: number, random: Random): number[] {
  const px = new Array<number>(784);
  for (let i = 0; i < 784; i++) px[i] = random.int(30);
  const at = 2 + 2 * label + random.int(3) - 1;
  for (let a = 3; a < 25; a++) {
    for (let w = 0; w < 3; w++) {
      const idx = label % 2 === 0 ? a * 28 + at + w : (at + w) * 28 + a;
      px[idx] = 200 + random.int(56);
    }
  }
  return px;
}

/** n synthetic digits as an in-memory labelled dataset, labels drawn from the seed. */
export function digitsDataset(n: number, seed: number): Dataset {
  const random = new Random(seed);
  const pixels = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = random.int(10);
    pixels.set(digitPixels(labels[i], random), i * 784);
  }
  return { n, pixels, labels, ids: null };
}

export type Header = 'label' | 'id' | 'id+label' | 'pixels';

/** CSV text of n synthetic images, labels cycling 0..9 (shuffled by seed). */
export function digitsCsv(n: number, seed = 1, header: Header = 'label'): { text: string; labels: number[] } {
  const random = new Random(seed);
  const pixelCols = Array.from({ length: 784 }, (_, i) => `pixel${i}`);
  const head = { label: ['label'], id: ['id'], 'id+label': ['id', 'label'], pixels: [] }[header];
  const lines = [[...head, ...pixelCols].join(',')];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = (i + random.int(10)) % 10;
    labels.push(label);
    const lead = { label: [label], id: [1000 + i], 'id+label': [1000 + i, label], pixels: [] }[header];
    lines.push([...lead, ...digitPixels(label, random)].join(','));
  }
  return { text: lines.join('\n') + '\n', labels };
}

/** A fresh temporary folder for one test. */
export function tempDir(prefix = 'kconv-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes n synthetic images to dir/name and returns the path. */
export function writeDigits(dir: string, name: string, n: number, seed = 1, header: Header = 'label'): string {
  const path = join(dir, name);
  writeFileSync(path, digitsCsv(n, seed, header).text);
  return path;
}
