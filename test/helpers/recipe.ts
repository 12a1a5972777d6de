import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { parseModel } from '../../src/model/weights-file.js';
import { tempDir, writeDigits } from './digits.js';
import { inProcessIn } from './in-process.js';

/** A small network trained quickly at a constant rate. */
export const SMALL = ['--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--lr-schedule', 'constant'];
/** The accuracy recipe: augmentation (affine, elastic, stroke, contrast, erase), label smoothing and EMA. */
export const RECIPE = ['--augment', '--elastic', '20', '--stroke', '0.4', '--contrast', '0.2', '--erase', '0.3', '--label-smoothing', '0.1', '--ema', '0.9'];

/**
 * The recipe tests' folder, made in beforeAll: `data` its 300 synthetic digits
 * (digits.csv); `run` kconv in this process in the folder, with its own cache; `read` and
 * `weights` a weights file kconv wrote there.
 */
export function recipeFolder() {
  let dir = '';
  let data = '';
  beforeAll(() => {
    dir = tempDir();
    data = writeDigits(dir, 'digits.csv', 300, 1);
  });
  const read = (f: string) => parseModel(readFileSync(join(dir, f), 'utf8'), f);
  return {
    get dir() {
      return dir;
    },
    get data() {
      return data;
    },
    run: inProcessIn(() => dir, () => ({ XDG_CACHE_HOME: join(dir, 'cache') })),
    read,
    weights: (f: string) => read(f).net.state().map((v) => Array.from(v)),
  };
}
