/**
 * Hostile outputs (issue "nothing lost, nothing silently wrong") in this process: --out
 * equal to an input, through a symlink, in a missing folder or under a file, and the
 * lock a run holds on its output. Each test failed on the code before its fix. FIFOs,
 * devices, full disks, other processes' locks and closed pipes are in
 * test/cli/hostile-output.test.ts.
 */
import { existsSync, linkSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kconv } from '../helpers/in-process.js';
import { temporaries, TINY, trainedFolder } from '../helpers/trained-folder.js';

const trained = trainedFolder();
const { p, folder } = trained;


describe('--out must not be an input', () => {
  it.each([
    ['train data', (d: string) => ['train', d, ...TINY, '--out', d], '--out {d} is the same file as the input file {d}'],
    ['train --val', (d: string) => ['train', p('digits.csv'), '--val', d, ...TINY, '--out', d], '--out {d} is the same file as --val {d}'],
    ['predict data', (d: string) => ['predict', d, '--weights', p('m.json'), '--out', d], '--out {d} is the same file as the input file {d}'],
  ])('%s: refused before anything is written (exit 2), the input intact', async (_, args, message) => {
    const d = p(`in-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(d, readFileSync(p('val.csv')));
    const before = readFileSync(d);
    const r = await kconv(args(d));
    expect(r.stderr).toBe(`kconv: ${message.replaceAll('{d}', d)}: writing it would destroy the input; give the output another name\n`);
    expect(r.code).toBe(2);
    expect(readFileSync(d).equals(before)).toBe(true);
  });

  it('predict --weights m.json --out m.json, and the same file under another name (a link)', async () => {
    const weights = p('w7.json');
    writeFileSync(weights, readFileSync(p('m.json')));
    const before = readFileSync(weights, 'utf8');
    const r = await kconv(['predict', p('val.csv'), '--weights', weights, '--out', weights]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the same file as --weights .*w7\.json: writing it would destroy the input/);
    symlinkSync(weights, p('w7-link.json'));
    linkSync(weights, p('w7-hard.json'));
    for (const other of ['w7-link.json', 'w7-hard.json']) {
      expect((await kconv(['predict', p('val.csv'), '--weights', weights, '--out', p(other)])).code).toBe(2);
    }
    expect(readFileSync(weights, 'utf8')).toBe(before);
  });
});

describe('--out through a symlink', () => {
  it('a symlink stays a link; the file it points to is replaced (also when it does not exist yet)', async () => {
    const real = folder('real');
    writeFileSync(path.join(real, 'preds.csv'), 'old\n');
    symlinkSync(path.join(real, 'preds.csv'), p('link.csv'));
    symlinkSync(path.join(real, 'new.csv'), p('dangling.csv'));
    for (const [link, target] of [['link.csv', 'preds.csv'], ['dangling.csv', 'new.csv']]) {
      const r = await kconv(['predict', p('val.csv'), '--weights', p('m.json'), '--out', p(link)]);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(p(link)).isSymbolicLink()).toBe(true);
      expect(readFileSync(path.join(real, target), 'utf8')).toMatch(/^id,label\n0,\d\n/);
    }
    expect(temporaries(real)).toEqual([]);
  });
});

describe('--out in a missing folder, or under a file, fails before training', () => {
  it.each([
    ['a missing folder', () => p('no/such/dir/model.json'), (o: string) => `--out ${o}: the folder ${path.dirname(o)} does not exist; create it or give another path`],
    ['a file used as a folder', () => p('digits.csv/model.json'), (o: string) => `--out ${o}: a part of the path is a file, not a folder; give another path`],
    ['a folder', () => trained.dir, (o: string) => `--out ${o}: is a folder; give a file name`],
  ])('%s', async (_, outOf, message) => {
    const out = outOf();
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out]);
    expect(r.stderr).toBe(`kconv: ${message(out)}\n`); // one line, and no epoch was trained
    expect(r.code).toBe(1);
  });
});

describe('one run per output: <out>.lock', () => {
  it('a run holds <out>.lock while it trains and removes it when done', async () => {
    const out = p('locked.json');
    let heldDuringEpoch = false;
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out], {
      onErr: (t) => {
        if (/^epoch +1\/1/.test(t)) heldDuringEpoch = readFileSync(`${out}.lock`, 'utf8') === `${process.pid}\n${hostname()}\n`;
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(heldDuringEpoch).toBe(true);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });
});
