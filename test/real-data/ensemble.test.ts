/**
 * Ensembles on the real Kannada-MNIST data: `kconv train --ensemble 2` of a small net,
 * each model and the ensemble evaluated on val.csv, and the ensemble exported to ONNX and
 * run by onnxruntime-node, which must give `kconv predict --probs`'s probabilities to
 * 1e-5 and its labels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { runKconv } from '../helpers/cli.js';
import { kconv } from '../helpers/in-process.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

let dir: string;
let val: Dataset;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });
/** The CLI in this process (cheaper than a process per command), on files in `dir`. */
const inProcess = (args: string[]) => kconv(args);
const at = (f: string) => join(dir, f);
const accuracy = async (weights: string): Promise<number> => {
  const r = await inProcess(['evaluate', dataFile('val.csv'), '--weights', weights.split(',').map(at).join(','), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).accuracy;
};

beforeAll(async () => {
  dir = tempDir('kconv-ensemble-data-');
  // A small net (conv8k5 → pool → dense), 2 epochs each: a few seconds for both models.
  const r = await run(['train', dataFile('train.csv'), '--arch', 'conv8k5,relu,pool2,dense10', '--epochs', '2', '--no-val', '--ensemble', '2', '--out', 'ens.json']);
  expect(r.code, r.stderr).toBe(0);
  ({ images: val } = await readDataset(dataFile('val.csv')));
});

describe('an ensemble on the real data', () => {
  it('each model and the ensemble of both, on val.csv', async () => {
    const [a, b, both, list] = [await accuracy('ens.1.json'), await accuracy('ens.2.json'), await accuracy('ens.json'), await accuracy('ens.1.json,ens.2.json')];
    console.log(`val.csv: model 1 ${(a * 100).toFixed(2)}%, model 2 ${(b * 100).toFixed(2)}%, ensemble ${(both * 100).toFixed(2)}%`);
    expect(list).toBe(both);
    expect(Math.min(a, b)).toBeGreaterThan(0.9); // trained models, not an accident
    // The mean of two similar models is not worse than the weaker by more than noise.
    expect(both).toBeGreaterThanOrEqual(Math.min(a, b) - 0.005);
  });

  it('kconv export of the ensemble: onnxruntime gives kconv predict --probs to 1e-5, and its labels', async () => {
    const e = await kconv(['export', at('ens.json'), '--onnx', at('ens.onnx')]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/an ensemble of 2 models averaged by Mean/);
    const p = await inProcess(['predict', dataFile('val.csv'), '--weights', at('ens.json'), '--probs', '--out', at('val-probs.csv')]);
    expect(p.code, p.stderr).toBe(0);
    const rows = readFileSync(join(dir, 'val-probs.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,label,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9');
    expect(rows).toHaveLength(val.n + 1);
    const session = await ort.InferenceSession.create(join(dir, 'ens.onnx'));
    try {
      const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(val.pixels), [val.n, 1, 28, 28]) });
      expect(out.probabilities.dims).toEqual([val.n, 10]);
      const onnx = out.probabilities.data as Float32Array;
      let worst = 0;
      let same = 0;
      for (let i = 0; i < val.n; i++) {
        const [, label, ...probs] = rows[i + 1].split(',').map(Number);
        let arg = 0;
        for (let k = 0; k < 10; k++) {
          worst = Math.max(worst, Math.abs(onnx[i * 10 + k] - probs[k]));
          if (onnx[i * 10 + k] > onnx[i * 10 + arg]) arg = k;
        }
        if (arg === label) same++;
      }
      console.log(`ensemble ONNX on val.csv: labels equal ${same}/${val.n}, max |Δp| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      expect(same / val.n).toBeGreaterThanOrEqual(0.999);
    } finally {
      await session.release();
    }
  });
});
