/**
 * The accuracy recipe (augmentation, label smoothing, EMA) through kconv train on two
 * worker threads: the weights one thread gives. The rest is in test/unit/recipe.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModel } from '../../src/model/weights-file.js';
import { inProcessIn } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';

let dir: string;
let data: string;
const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
const run = inProcessIn(() => dir, env);
const SMALL = ['--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--lr-schedule', 'constant'];
const RECIPE = ['--augment', '--elastic', '20', '--stroke', '0.4', '--contrast', '0.2', '--erase', '0.3', '--label-smoothing', '0.1', '--ema', '0.9'];
const read = (f: string) => parseModel(readFileSync(join(dir, f), 'utf8'), f);
const weights = (f: string) => read(f).net.state().map((v) => Array.from(v));

beforeAll(() => {
  dir = tempDir();
  data = writeDigits(dir, 'digits.csv', 300, 1);
});

describe('the recipe options in kconv train', () => {
  it('gives the same weights on 1 and 2 threads', async () => {
    await run(['train', data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '1', '--out', 'r1.json']);
    await run(['train', data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '2', '--out', 'r2.json']);
    const a = weights('r1.json');
    const b = weights('r2.json');
    a.forEach((arr, k) => arr.forEach((v, i) => expect(Math.abs(v - b[k][i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)))));
  });
});
