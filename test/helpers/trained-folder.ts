import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect } from 'vitest';
import { tempDir, writeDigits } from './digits.js';
import { kconv } from './in-process.js';

/** A network small and quick to train, on one thread. */
export const TINY = ['--arch', 'conv2k5,relu,pool2,dense10', '--threads', '1'];

/**
 * A temporary folder made in beforeAll: digits.csv (300 synthetic digits), val.csv (60)
 * and m.json, TINY trained one epoch on digits.csv. `p(name)` is a path in it, `folder(name)`
 * a fresh folder made in it to write in.
 */
export function trainedFolder() {
  let dir = '';
  const p = (name: string) => path.join(dir, name);
  beforeAll(async () => {
    dir = tempDir('kconv-hostile-out-');
    writeDigits(dir, 'digits.csv', 300, 1);
    writeDigits(dir, 'val.csv', 60, 2);
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', p('m.json')]);
    expect(r.code, r.stderr).toBe(0);
  });
  return {
    get dir() {
      return dir;
    },
    p,
    folder(name: string): string {
      const f = p(name);
      mkdirSync(f);
      return f;
    },
  };
}

/** The temporary files (*.tmp) left in folder f. */
export const temporaries = (f: string) => readdirSync(f).filter((n) => /\.tmp$/.test(n));
