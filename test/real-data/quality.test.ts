import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModel } from '../../src/model/weights-file.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

// Step 3 and 4 quality bars on the real data: the recipe is kconv's defaults
// (momentum 0.9, lr 0.05, batch 64, 5 epochs, seed 1, 10% of train.csv held out).
let dir: string;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });
const accuracyOf = (report: string) => Number(/accuracy (\d+\.\d+)%/.exec(report)![1]) / 100;

beforeAll(() => {
  dir = tempDir('kconv-data-');
});

describe('training on train.csv, judged on val.csv', () => {
  it('default net: ≥ 96.5% on val.csv, the loss falls, and evaluate agrees with what training reported', async () => {
    const r = await run(['train', dataFile('train.csv'), '--epochs', '5', '--seed', '1', '--val', dataFile('val.csv'), '--out', 'default.json']);
    expect(r.code, r.stderr).toBe(0);
    const model = parseModel(readFileSync(join(dir, 'default.json'), 'utf8'), 'default.json');
    const history = model.training!.history;
    expect(history[1].loss).toBeLessThan(history[0].loss);
    expect(history[2].loss).toBeLessThan(history[1].loss);
    const reported = history[4].valAcc!;
    expect(reported).toBeGreaterThanOrEqual(0.965);
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'default.json']);
    expect(accuracyOf(e.stdout)).toBeCloseTo(reported, 6);
  });

  it('default net with the 10% split (the documented command): ≥ 96.5% on val.csv', async () => {
    const r = await run(['train', dataFile('train.csv'), '--epochs', '5', '--seed', '1', '--out', 'split.json']);
    expect(r.code, r.stderr).toBe(0);
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'split.json']);
    expect(accuracyOf(e.stdout)).toBeGreaterThanOrEqual(0.965);
  });

  it('seed net: ≥ 92.5% on val.csv; two runs with the same seed give identical files', async () => {
    for (const out of ['seed1.json', 'seed2.json']) {
      const r = await run(['train', dataFile('train.csv'), '--arch', 'seed', '--epochs', '5', '--seed', '1', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
    }
    const strip = (f: string) => readFileSync(join(dir, f), 'utf8').replace(/"seconds": [\d.e+-]+/g, '');
    expect(strip('seed1.json')).toBe(strip('seed2.json'));
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'seed1.json']);
    expect(accuracyOf(e.stdout)).toBeGreaterThanOrEqual(0.925);
  });

  it('predicting test.csv gives 1,000 rows id,label with ids 0 to 999', async () => {
    const r = await run(['predict', dataFile('test.csv'), '--weights', 'default.json', '--out', 'submission.csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(dir, 'submission.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,label');
    expect(rows.slice(1).map((row) => Number(row.split(',')[0]))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const labels = rows.slice(1).map((row) => Number(row.split(',')[1]));
    // test.csv holds 100 of each digit: a good model predicts each about 100 times.
    for (let d = 0; d < 10; d++) expect(labels.filter((l) => l === d).length).toBeGreaterThan(80);
  });
});
