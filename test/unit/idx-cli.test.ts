import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { idx } from '../helpers/idx-file.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/random.js';
import { inProcessIn } from '../helpers/in-process.js';
import { digitPixels, tempDir, writeDigits } from '../helpers/digits.js';


let dir: string;
// In this process (the CLI's code, without a Node start-up per run).
const run = inProcessIn(() => dir, () => ({ XDG_CACHE_HOME: join(dir, 'cache') }));

beforeAll(() => {
  dir = tempDir();
  const n = 400;
  const random = new Random(5);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const pixels = new Uint8Array(n * 784);
  labels.forEach((label, i) => pixels.set(digitPixels(label, random), i * 784));
  writeFileSync(join(dir, 'X_toy-idx3-ubyte.gz'), gzipSync(idx([n, 28, 28], pixels)));
  writeFileSync(join(dir, 'y_toy-idx1-ubyte.gz'), gzipSync(idx([n], labels)));
  writeFileSync(join(dir, 'toy-labels.idx'), idx([n], labels));
  writeDigits(dir, 'toy.csv', 50);
});

describe('idx files wherever a CSV is read', () => {
  it('trains on an idx images file, its labels found beside it by name', async () => {
    const r = await run(['train', 'X_toy-idx3-ubyte.gz', '--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--epochs', '2', '--threads', '1', '--out', 'm.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/: 400 images,/);
    expect(r.stdout).toMatch(/val acc (9\d|100)\.\d\d%/);
  });

  it('predicts and evaluates idx input, with --labels naming the labels file', async () => {
    const p = await run(['predict', 'X_toy-idx3-ubyte.gz', '--weights', 'm.json']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.split('\n')).toHaveLength(402);
    expect(p.stderr).toMatch(/accuracy/);
    const e = await run(['evaluate', 'X_toy-idx3-ubyte.gz', '--weights', 'm.json', '--labels', 'toy-labels.idx']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/accuracy (9\d|100)\.\d\d% \(\d+ of 400\)/);
  });

  it('rejects --labels with a CSV file, in one line', async () => {
    const r = await run(['predict', 'toy.csv', '--weights', 'm.json', '--labels', 'toy-labels.idx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('kconv: --labels goes with an idx images file, and toy.csv is not one\n');
  });
});
