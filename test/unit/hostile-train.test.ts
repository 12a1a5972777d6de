/**
 * Hostile training runs (issue "nothing lost, nothing silently wrong"): --save-best
 * without validation, parameters that overflow, --resume with an explicit --out or with
 * changed options, odd --val-split values, what a NaN message says is on disk, and a
 * signal during the final save. In process (no Node start-up) on a tiny net. Each test
 * failed on the code before its fix.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModel } from '../../src/model/weights-file.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';

let dir: string;
const p = (name: string) => path.join(dir, name);
const TINY = ['--arch', 'conv2k5,relu,pool2,dense10', '--batch-size', '32', '--threads', '1'];
const model = (name: string) => parseModel(readFileSync(p(name), 'utf8'), name);

beforeAll(() => {
  dir = tempDir('kconv-hostile-train-');
  writeDigits(dir, 'digits.csv', 300, 1);
  writeDigits(dir, 'other.csv', 300, 7);
});

describe('--save-best needs validation', () => {
  it('--save-best with --val-split 0 is refused before training (it used to claim a file it never wrote)', async () => {
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--val-split', '0', '--save-best', '--out', p('sb.json')]);
    expect(r.stderr).toBe('kconv: --save-best keeps the epoch with the best validation accuracy, but with --val-split 0 no images are held out for it; give --val file.csv or --val-split F (F > 0)\n');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(existsSync(p('sb.json'))).toBe(false);
  });
});

describe('weights that overflow are never written', () => {
  it('--lr 1e300 with one batch per epoch: exit 1, no Infinity saved over good weights', async () => {
    const r0 = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', p('inf.json')]);
    expect(r0.code, r0.stderr).toBe(0);
    const good = readFileSync(p('inf.json'), 'utf8');
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--lr', '1e300', '--batch-size', '2000', '--epochs', '1', '--out', p('inf.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/^kconv: the (weights|optimizer state) became (-?Infinity|NaN) at epoch 1 though the loss was still finite: training diverged, the learning rate 1e\+300 is too high; try --lr 1e\+299 \(nothing was saved; .*inf\.json is as it was before this run\)$/);
    expect(readFileSync(p('inf.json'), 'utf8')).toBe(good);
  });
});

describe('--resume with an explicit --out writes there', () => {
  it('--resume r.json --out model.json (the default name, typed) leaves r.json alone', async () => {
    const r1 = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', p('r.json')]);
    expect(r1.code, r1.stderr).toBe(0);
    const checkpoint = readFileSync(p('r.json'), 'utf8');
    const cwd = process.cwd();
    process.chdir(dir); // the literal default name, relative to here
    try {
      const r = await kconv(['train', 'digits.csv', '--resume', 'r.json', '--epochs', '2', '--threads', '1', '--out', 'model.json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^saved model\.json: 2 epochs/);
    } finally {
      process.chdir(cwd);
    }
    expect(readFileSync(p('r.json'), 'utf8')).toBe(checkpoint);
    expect(model('model.json').training!.history).toHaveLength(2);
  });
});

describe('--val-split at its edges', () => {
  it('0.999 says why nothing is left to train on and what to do', async () => {
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--val-split', '0.999', '--out', p('vs.json')]);
    expect(r.stderr).toBe(`kconv: --val-split 0.999 holds out all 300 images of ${p('digits.csv')} (the split is per digit, rounded), leaving none to train on; give a smaller --val-split, e.g. 0.1\n`);
    expect(r.code).toBe(2);
  });

  it('0 trains without validation: no NaN printed or saved', async () => {
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--val-split', '0', '--json', '--out', p('v0.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/NaN/);
    expect(JSON.parse(r.stdout)).toMatchObject({ valLoss: null, valAcc: null });
    expect(model('v0.json').training!.validation).toEqual({ kind: 'none' });
  });
});

describe('what --resume may change, and what it refuses', () => {
  beforeAll(async () => {
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '2', '--lr-schedule', 'constant', '--out', p('base.json')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a new --lr and --lr-schedule apply from the resume point, and are recorded', async () => {
    writeFileSync(p('ft.json'), readFileSync(p('base.json')));
    const r = await kconv(['train', p('digits.csv'), '--resume', p('ft.json'), '--epochs', '4', '--lr', '0.01', '--lr-schedule', 'cosine', '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kconv: resuming with lr 0.05 → 0.01, schedule constant → cosine: a new cosine schedule runs from here to epoch 4\n');
    const t = model('ft.json').training!;
    expect(t.optimizer.lr).toBe(0.01);
    expect(t.schedule).toBe('cosine');
    expect(t.history.map((h) => h.lr).slice(0, 2)).toEqual([0.05, 0.05]);
    // The new schedule starts at the new rate (epoch 3 ends a little below it) and falls to 0 at the end.
    expect(t.history[2].lr).toBeLessThan(0.01);
    expect(t.history[2].lr).toBeGreaterThan(0.005);
    expect(t.history[3].lr).toBeLessThan(1e-4);
  });

  it('a new --optimizer starts its state afresh', async () => {
    writeFileSync(p('opt.json'), readFileSync(p('base.json')));
    const r = await kconv(['train', p('digits.csv'), '--resume', p('opt.json'), '--epochs', '3', '--optimizer', 'adam', '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    const t = model('opt.json');
    expect(t.training!.optimizer.name).toBe('adam');
    expect(t.training!.optimizer.lr).toBe(0.001); // adam's default, not momentum's 0.05
    expect(t.optimizerState!.v.length).toBeGreaterThan(0);
  });

  it.each([
    ['--arch', ['--arch', 'conv4k5,relu,pool2,dense10'], '--arch cannot change when resuming: {f} was trained with the network conv2k5,relu,pool2,dense10'],
    ['--batch-size', ['--batch-size', '16'], '--batch-size cannot change when resuming: {f} was trained with batch size 32'],
  ])('%s is refused with a clear message', async (_, extra, message) => {
    const r = await kconv(['train', p('digits.csv'), '--resume', p('base.json'), '--epochs', '3', ...extra, '--threads', '1', '--out', p('never.json')]);
    expect(r.stderr).toMatch(new RegExp(`^kconv: ${message.replace('{f}', p('base.json')).replace(/[.*+?()[\]]/g, '\\$&')}`));
    expect(r.code).toBe(2);
    expect(existsSync(p('never.json'))).toBe(false);
  });

  it('resuming on other data warns; on the same data it does not', async () => {
    const same = await kconv(['train', p('digits.csv'), '--resume', p('base.json'), '--epochs', '3', '--threads', '1', '--out', p('same.json')]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/warning/);
    const other = await kconv(['train', p('other.csv'), '--resume', p('base.json'), '--epochs', '3', '--threads', '1', '--out', p('moved.json')]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toContain(`kconv: warning: ${p('other.csv')} is not the data ${p('base.json')} was trained on (${p('digits.csv')}, 300 images; now 300 images with other content): training goes on with it\n`);
  });
});

describe('a NaN loss names what is actually on disk', () => {
  const diverge = ['--lr', '1e30', '--lr-schedule', 'constant', '--epochs', '2'];

  it('an unrelated older file at --out: "as it was before this run", not "the last good weights"', async () => {
    writeFileSync(p('unrelated.json'), '{"not": "this run"}\n');
    const r = await kconv(['train', p('digits.csv'), ...TINY, ...diverge, '--out', p('unrelated.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/\(nothing was saved; .*unrelated\.json is as it was before this run\)$/);
    expect(readFileSync(p('unrelated.json'), 'utf8')).toBe('{"not": "this run"}\n');
  });

  it('no file at --out: "nothing was saved"', async () => {
    const r = await kconv(['train', p('digits.csv'), ...TINY, ...diverge, '--out', p('absent.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/try --lr 1e\+29 \(nothing was saved\)$/);
    expect(existsSync(p('absent.json'))).toBe(false);
  });
});

describe('a signal during the final save', () => {
  it('SIGTERM as the last epoch is saved: exit 130, the file complete', async () => {
    // The signal arrives once the last checkpoint is written (kconv prints the epoch line then).
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', p('sig.json')], {
      onErr: (t) => {
        if (/^epoch +1\/1/.test(t)) (process.listeners('SIGTERM').at(-1) as (s: NodeJS.Signals) => void)('SIGTERM');
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/kconv: SIGTERM during the final save: training had finished; .*sig\.json is complete \(1 epochs\)\n$/);
    expect(model('sig.json').training!.history).toHaveLength(1);
  });
});
