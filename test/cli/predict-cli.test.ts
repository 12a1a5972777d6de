import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { inProcessIn } from '../helpers/in-process.js';
import { digitsCsv, tempDir, writeDigits } from '../helpers/digits.js';

// predict() keeps small jobs on one thread whatever --threads says (src/predict/threads.ts):
// while `force.threads` is on, every job gets the threads it is given, so that workers run.
const force = vi.hoisted(() => ({ threads: false }));
vi.mock('../../src/predict/threads.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/predict/threads.js')>();
  return { ...actual, predictThreads: (...args: Parameters<typeof actual.predictThreads>) => (force.threads ? args[0] : actual.predictThreads(...args)) };
});

let dir: string;
// In this process (the CLI's code, without a Node start-up per run).
const run = inProcessIn(() => dir, () => ({ XDG_CACHE_HOME: join(dir, 'cache') }));

beforeAll(async () => {
  dir = tempDir();
  writeDigits(dir, 'train.csv', 500, 1);
  const r = await run(['train', 'train.csv', '--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--epochs', '3', '--out', 'm.json']);
  expect(r.code).toBe(0);
});

describe('kconv predict', () => {
  it('writes id,label for an id-format file, ids from the file, in input order', async () => {
    const { text, labels } = digitsCsv(50, 7, 'id');
    writeFileSync(join(dir, 'test.csv'), text);
    const r = await run(['predict', 'test.csv', '--weights', 'm.json']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toBe('id,label');
    expect(rows).toHaveLength(51);
    expect(rows.slice(1).map((row) => Number(row.split(',')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    const predicted = rows.slice(1).map((row) => Number(row.split(',')[1]));
    expect(predicted.filter((p, i) => p === labels[i]).length).toBeGreaterThan(45);
    expect(r.stderr).not.toMatch(/accuracy/); // no labels, no report
  });

  it('uses the 0-based row index without an id column, and reports metrics when there are labels', async () => {
    writeDigits(dir, 'val.csv', 60, 9, 'label');
    const r = await run(['predict', 'val.csv', '--weights', 'm.json']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toMatch(/^0,\d$/);
    expect(r.stderr).toMatch(/val\.csv: accuracy \d+\.\d\d% \(\d+ of 60\)/);
    expect(r.stderr).toMatch(/digit +precision +recall +images/);
    expect(r.stderr).toMatch(/confusion matrix \(rows: true digit, columns: predicted\)\n +0 +1 +2 +3 +4 +5 +6 +7 +8 +9\n/);
  });

  it('--probs adds p0..p9 that sum to 1 and agree with the label', async () => {
    const r = await run(['predict', 'val.csv', '--weights', 'm.json', '--probs']);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toBe('id,label,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9');
    for (const row of rows.slice(1)) {
      const [, label, ...p] = row.split(',').map(Number);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.indexOf(Math.max(...p))).toBe(label);
    }
  });

  it('--json writes one object per image and the metrics last', async () => {
    const r = await run(['predict', 'val.csv', '--weights', 'm.json', '--json']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(61);
    expect(lines[0]).toEqual({ id: 0, label: expect.any(Number) });
    expect(lines[60].metrics.n).toBe(60);
    expect(lines[60].metrics.confusion).toHaveLength(10);
  });

  it('--out writes the file atomically and prints nothing on stdout', async () => {
    const r = await run(['predict', 'val.csv', '--weights', 'm.json', '--out', 'pred.csv']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(join(dir, 'pred.csv'), 'utf8').split('\n')[0]).toBe('id,label');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--threads 2 gives the same predictions and probabilities as one thread', async () => {
    writeDigits(dir, 'many.csv', 1200, 4, 'id');
    const one = await run(['predict', 'many.csv', '--weights', 'm.json', '--probs', '--threads', '1']);
    const create = vi.spyOn(DataParallel, 'create');
    force.threads = true;
    const two = await run(['predict', 'many.csv', '--weights', 'm.json', '--probs', '--threads', '2']).finally(() => (force.threads = false));
    expect(create.mock.calls.map((call) => call[0])).toEqual([2]);
    create.mockRestore();
    expect(one.code).toBe(0);
    expect(two.stdout.split('\n')).toHaveLength(1202);
    expect(two.stdout).toBe(one.stdout);
  });

  it('kconv evaluate prints the report alone, or as JSON', async () => {
    const r = await run(['evaluate', 'val.csv', '--weights', 'm.json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^val\.csv: accuracy/);
    const j = await run(['evaluate', 'val.csv', '--weights', 'm.json', '--json']);
    const m = JSON.parse(j.stdout);
    expect(m.perClass).toHaveLength(10);
    expect(m.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(60);
  });

  it('a bad weights file: one line naming the file and fault, exit 1, no output file', async () => {
    const doc = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    doc.layers[0].weight = doc.layers[0].weight.slice(0, 90);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(doc));
    const r = await run(['predict', 'val.csv', '--weights', 'bad.json', '--out', 'never.csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kconv: bad.json: layer 1 (conv2d): weight has 90 numbers, expected 100\n');
    expect(readdirSync(dir)).not.toContain('never.csv');
    const missing = await run(['predict', 'val.csv', '--weights', 'nope.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('kconv: nope.json: no such weights file: train one with kconv train, or give its path with --weights\n');
  });

  it('evaluate needs labels', async () => {
    const r = await run(['evaluate', 'test.csv', '--weights', 'm.json']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/test\.csv/);
  });
});
