/**
 * kconv train end to end: runs that learn, byte-identical reruns, --resume, --json,
 * NaN losses, --save-best, Ctrl-C to a process, --threads 2, --recipe and dropout. These
 * start worker threads (the default --threads is the number of cores). Refused options,
 * in this process, are in test/unit/train-cli.test.ts.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModel } from '../../src/model/weights-file.js';
import { KCONV } from '../helpers/cli.js';
import { inProcessIn } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';

let dir: string;
let data: string;
const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
// In this process (the CLI's code, without a Node start-up per run); the Ctrl-C test spawns its own.
const run = inProcessIn(() => dir, env);
const SMALL = ['--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16'];

beforeAll(() => {
  dir = tempDir();
  data = writeDigits(dir, 'digits.csv', 400, 1);
});

describe('kconv train', () => {
  it('trains a net that learns, writes a valid weights file, and reports epochs', async () => {
    const r = await run(['train', data, ...SMALL, '--epochs', '3', '--out', 'a.json']);
    expect(r.stderr).toMatch(/epoch +1\/3 +loss/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^saved a\.json: 3 epochs in .* s, val acc \d+\.\d+%\n$/);
    const model = parseModel(readFileSync(join(dir, 'a.json'), 'utf8'), 'a.json');
    const history = model.training!.history;
    expect(history).toHaveLength(3);
    expect(history[2].loss).toBeLessThan(history[0].loss);
    expect(history[2].valAcc).toBeGreaterThan(0.9);
    expect(model.arch).toBe('conv4k5,relu,pool2,dense10');
    expect(model.optimizerState!.m).toHaveLength(4);
  });

  it('gives a byte-identical file for the same seed, and another for another seed', async () => {
    await run(['train', data, ...SMALL, '--epochs', '2', '--out', 's1.json']);
    await run(['train', data, ...SMALL, '--epochs', '2', '--out', 's2.json']);
    await run(['train', data, ...SMALL, '--epochs', '2', '--out', 's3.json', '--seed', '2']);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8').replace(/"seconds": [\d.e+-]+/g, '');
    expect(read('s1.json')).toBe(read('s2.json'));
    expect(read('s1.json')).not.toBe(read('s3.json'));
  });

  it('2 epochs, then --resume to 4, equals 4 uninterrupted epochs', async () => {
    await run(['train', data, ...SMALL, '--epochs', '4', '--lr-schedule', 'constant', '--out', 'four.json']);
    await run(['train', data, ...SMALL, '--epochs', '2', '--lr-schedule', 'constant', '--out', 'two.json']);
    const r = await run(['train', data, '--resume', 'two.json', '--epochs', '4']);
    expect(r.code).toBe(0);
    const a = parseModel(readFileSync(join(dir, 'four.json'), 'utf8'), 'four');
    const b = parseModel(readFileSync(join(dir, 'two.json'), 'utf8'), 'two');
    expect(b.training!.history).toHaveLength(4);
    a.net.params().forEach((p, i) => expect(Array.from(b.net.params()[i].value)).toEqual(Array.from(p.value)));
  });

  it('--json prints one parseable line per epoch on stdout', async () => {
    const r = await run(['train', data, ...SMALL, '--epochs', '2', '--out', 'j.json', '--json', '--no-val']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[0]).toMatchObject({ valAcc: null, saved: ['j.json'] });
    expect(typeof lines[1].loss).toBe('number');
  });

  it('stops on a NaN loss with advice, keeping the last good weights', async () => {
    await run(['train', data, ...SMALL, '--epochs', '1', '--out', 'nan.json']);
    const before = readFileSync(join(dir, 'nan.json'), 'utf8');
    const r = await run(['train', data, ...SMALL, '--epochs', '2', '--lr', '1e30', '--lr-schedule', 'constant', '--out', 'nan.json']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^kconv: the loss became (NaN|Infinity) at epoch 1, batch \d+: training diverged, the learning rate 1e\+30 is too high; try --lr/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'nan.json'), 'utf8')).toBe(before);
  });

  it('--save-best keeps the best validation epoch in --out, the latest in .last.json', async () => {
    const r = await run(['train', data, ...SMALL, '--epochs', '3', '--out', 'best.json', '--save-best']);
    expect(r.code).toBe(0);
    const best = parseModel(readFileSync(join(dir, 'best.json'), 'utf8'), 'best');
    const last = parseModel(readFileSync(join(dir, 'best.last.json'), 'utf8'), 'last');
    const accs = last.training!.history.map((h) => h.valAcc!);
    const bestEpoch = best.training!.bestEpoch!;
    expect(accs[bestEpoch - 1]).toBe(Math.max(...accs));
    expect(best.training!.history).toHaveLength(bestEpoch);
  });

  it('Ctrl-C finishes the batch, leaves a valid checkpoint, and resuming matches an uninterrupted run', async () => {
    const big = writeDigits(dir, 'big.csv', 3000, 2);
    // One thread and small batches: an epoch lasts long enough to be interrupted in the middle.
    const args = ['train', big, '--arch', 'conv8k5,relu,pool2,dense10', '--batch-size', '4', '--epochs', '3', '--lr-schedule', 'constant', '--lr', '0.01', '--threads', '1'];
    const child = spawn(process.execPath, [KCONV, ...args, '--out', 'int.json'], { cwd: dir, env: { ...process.env, ...env() } });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      // Interrupt in the middle of epoch 2, once epoch 1 is saved.
      if (/epoch +1\/3/.test(stderr) && !child.killed) setTimeout(() => child.kill('SIGINT'), 100);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    // The command as it was started here (node and the script's path), pasteable.
    expect(stderr).toContain(`Resume with: node ${KCONV} train ${big} --resume int.json\n`);
    const partial = parseModel(readFileSync(join(dir, 'int.json'), 'utf8'), 'int');
    // Stopped inside an epoch (the usual case) or, if the signal landed on the last batch, at its end.
    const history = partial.training!.history.length;
    expect(partial.training!.position !== undefined || history < 3).toBe(true);
    const resumed = await run(['train', big, '--resume', 'int.json']);
    expect(resumed.code).toBe(0);
    await run([...args, '--out', 'straight.json']);
    const a = parseModel(readFileSync(join(dir, 'int.json'), 'utf8'), 'int');
    const b = parseModel(readFileSync(join(dir, 'straight.json'), 'utf8'), 'straight');
    expect(a.training!.history).toHaveLength(3);
    b.net.params().forEach((p, i) => expect(Array.from(a.net.params()[i].value)).toEqual(Array.from(p.value)));
  });

  it('--threads 2 matches one thread to float rounding, and is reproducible', async () => {
    const args = ['train', data, ...SMALL, '--epochs', '2', '--no-val'];
    await run([...args, '--threads', '1', '--out', 't1.json']);
    await run([...args, '--threads', '2', '--out', 't2.json']);
    await run([...args, '--threads', '2', '--out', 't2b.json']);
    const load = (f: string) => parseModel(readFileSync(join(dir, f), 'utf8'), f);
    const [a, b, c] = [load('t1.json'), load('t2.json'), load('t2b.json')];
    expect(b.training!.threads).toBe(2);
    a.net.params().forEach((p, i) => {
      const q = b.net.params()[i].value;
      let scale = 0;
      let worst = 0;
      for (let j = 0; j < q.length; j++) {
        scale = Math.max(scale, Math.abs(p.value[j]));
        worst = Math.max(worst, Math.abs(p.value[j] - q[j]));
      }
      expect(worst / scale).toBeLessThan(1e-4);
      expect(Array.from(c.net.params()[i].value)).toEqual(Array.from(q));
    });
    expect(a.training!.history[1].loss).toBeCloseTo(b.training!.history[1].loss, 5);
  });

  it('--recipe sets a bundle of options; options typed on the command line win', async () => {
    const r = await run(['train', data, '--recipe', 'augmented', '--arch', 'conv4k5,relu,pool2,dense10', '--epochs', '1', '--out', 'rec.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/adam lr 0\.003 \(onecycle\), augmented/);
    const t = parseModel(readFileSync(join(dir, 'rec.json'), 'utf8'), 'rec').training!;
    expect(t).toMatchObject({ epochs: 1, augment: true, schedule: 'onecycle', optimizer: { name: 'adam', lr: 0.003 } });
    const o = await run(['train', data, '--recipe', 'augmented', '--arch', 'conv4k5,relu,pool2,dense10', '--epochs', '1', '--optimizer', 'sgd', '--no-augment', '--out', 'rec2.json']);
    expect(o.code, o.stderr).toBe(0);
    const t2 = parseModel(readFileSync(join(dir, 'rec2.json'), 'utf8'), 'rec2').training!;
    expect(t2).toMatchObject({ augment: false, schedule: 'onecycle', optimizer: { name: 'sgd', lr: 0.05 } });
  });

  it('saves dropout layers in the weights file and predicts deterministically with them', async () => {
    const r = await run(['train', data, '--arch', 'conv4k5,relu,pool2,dropout0.3,dense10', '--epochs', '2', '--out', 'drop.json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'drop.json'), 'utf8'));
    expect(doc.layers.map((l: { type: string }) => l.type)).toEqual(['conv2d', 'relu', 'maxpool2d', 'dropout', 'flatten', 'dense']);
    expect(doc.layers[3]).toEqual({ type: 'dropout', rate: 0.3 });
    const a = await run(['predict', data, '--weights', 'drop.json', '--probs']);
    const b = await run(['predict', data, '--weights', 'drop.json', '--probs']);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stderr).toMatch(/accuracy (9\d|100)\.\d\d%/);
  });

  it('leaves no temporary files behind', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
