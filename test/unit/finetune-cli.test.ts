/**
 * `kconv train mine.csv --init model.json`: fine-tuning from the command line. The net
 * comes from the file (an --arch, --recipe or input spec that disagrees is refused in one
 * line naming both), --freeze keeps layers bit-identical, --replay mixes the original
 * images in and is recorded, the default output never replaces the init file, and a
 * resumed fine-tune goes on with what it froze and replayed. Every misuse: one line, exit 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, parseModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { inProcessIn } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';

let dir: string;
let baseText: string;
const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
const run = inProcessIn(() => dir, env);
const ARCH = 'conv4k5,relu,pool2,conv8k3,relu,dense10';
const QUICK = ['--epochs', '2', '--batch-size', '16', '--threads', '1'];
const read = (f: string): ModelFile => parseModel(readFileSync(join(dir, f), 'utf8'), f);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

beforeAll(async () => {
  dir = tempDir('kconv-finetune-cli-');
  writeDigits(dir, 'train.csv', 300, 1);
  writeDigits(dir, 'mine.csv', 100, 2);
  await saveModel(join(dir, 'base.json'), modelOf(ARCH, 1));
  baseText = readFileSync(join(dir, 'base.json'), 'utf8');
  await saveModel(join(dir, 'other-input.json'), modelOf(ARCH, 1, { ...DEFAULT_INPUT, mean: 0.1307, std: 0.3081 }));
});

describe('kconv train --init', () => {
  it('fine-tunes into <init>.finetuned.json by default (the convolutions frozen), says where it starts, and records where it came from', async () => {
    const r = await run(['train', 'mine.csv', '--init', 'base.json', ...QUICK, '--replay', 'train.csv', '--replay-ratio', '3']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^kconv: fine-tuning base\.json \(conv4k5,relu,pool2,conv8k3,relu,dense10\), the first 2 layers with parameters frozen, replaying 3 images of train\.csv per image, val acc \d+\.\d+% before fine-tuning\n/);
    expect(r.stdout).toMatch(/^saved base\.finetuned\.json: 2 epochs/);
    const m = read('base.finetuned.json');
    const t = m.training!;
    expect(t.init).toEqual({ file: 'base.json' });
    expect(t.replay).toMatchObject({ file: 'train.csv', images: 300, ratio: 3 });
    expect(t.freeze).toBe(2);
    expect(t.data).toMatchObject({ file: 'mine.csv', images: 100 });
    expect(t.optimizer).toMatchObject({ name: 'adam', lr: 0.001 });
    expect(t.epochs).toBe(2);
    expect(m.arch).toBe(ARCH);
    // The init file is as it was.
    expect(readFileSync(join(dir, 'base.json'), 'utf8')).toBe(baseText);
    const base = read('base.json');
    expect(base.training).toBeUndefined();
    expect(m.net.params().some((p, i) => bits(p.value).join() !== bits(base.net.params()[i].value).join())).toBe(true);
  });

  it('--freeze 1 leaves the first conv bit-identical and trains the rest', async () => {
    const r = await run(['train', 'mine.csv', '--init', 'base.json', ...QUICK, '--freeze', '1', '--out', 'frozen.json', '--replay', 'train.csv']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/the first 1 layer with parameters frozen, replaying 4 images of train\.csv per image/);
    expect(read('frozen.json').training!.replay!.ratio).toBe(4);
    const base = read('base.json');
    const m = read('frozen.json');
    expect(m.training!.freeze).toBe(1);
    const layer = (f: ModelFile, i: number) => f.net.layers[i].params().map((p) => bits(p.value).join());
    expect(layer(m, 0)).toEqual(layer(base, 0));
    expect(layer(m, 3)).not.toEqual(layer(base, 3));
  });

  it('a fine-tune stopped after 1 epoch and resumed gives the file of one run to the end (its freeze and replay carried on)', async () => {
    const common = ['--init', 'base.json', '--batch-size', '16', '--threads', '1', '--freeze', '1', '--replay', 'train.csv', '--lr-schedule', 'constant'];
    expect((await run(['train', 'mine.csv', ...common, '--epochs', '3', '--out', 'three.json'])).code).toBe(0);
    expect((await run(['train', 'mine.csv', ...common, '--epochs', '1', '--out', 'one.json'])).code).toBe(0);
    const r = await run(['train', 'mine.csv', '--resume', 'one.json', '--epochs', '3']);
    expect(r.code).toBe(0);
    const timeless = (f: string) => readFileSync(join(dir, f), 'utf8').replace(/"seconds": [\d.e+-]+/g, '');
    expect(timeless('one.json')).toBe(timeless('three.json'));
  });

  it.each([
    [['--arch', 'conv8k5,relu,pool2,dense10'], 'kconv: --arch conv8k5,relu,pool2,dense10 conflicts with --init base.json, whose network is conv4k5,relu,pool2,conv8k3,relu,dense10: the net comes from the --init file; leave --arch out\n'],
    [['--recipe', 'best'], /^kconv: --recipe best trains the network conv32k3p1,.*,dense10, but --init base\.json holds conv4k5,relu,pool2,conv8k3,relu,dense10: the net comes from --init; leave --recipe out, or give its options one by one\n$/],
    [['--freeze', '3'], "kconv: --freeze 3: base.json's network conv4k5,relu,pool2,conv8k3,relu,dense10 has 3 layers with parameters, and at least the last must learn; give --freeze 0 to 2\n"],
    [['--replay-ratio', '2'], 'kconv: --replay-ratio sets how many --replay images each epoch mixes in: give --replay train.csv too\n'],
    [['--replay', 'train.csv', '--replay-ratio', '0'], /^kconv: option '--replay-ratio <r>' argument '0' is invalid\. --replay-ratio must be a number > 0 .*\n$/],
    [['--resume', 'base.json'], 'kconv: --init base.json starts a new run from its weights, --resume base.json continues a checkpoint: give one of them\n'],
    [['--ensemble', '2'], 'kconv: --ensemble trains new models from fresh weights; --init base.json fine-tunes one model: give one of them\n'],
    [['--out', 'base.json'], 'kconv: --out base.json is the same file as --init base.json: writing it would destroy the input; give the output another name\n'],
  ] as [string[], string | RegExp][])('refuses %j in one line', async (extra, message) => {
    const r = await run(['train', 'mine.csv', '--init', 'base.json', ...QUICK, ...extra]);
    expect(r.code).toBe(2);
    if (typeof message === 'string') expect(r.stderr).toBe(message);
    else expect(r.stderr).toMatch(message);
  });

  it('refuses an --arch that matches the file\'s layers but not its input spec, naming both', async () => {
    const r = await run(['train', 'mine.csv', '--init', 'other-input.json', ...QUICK, '--arch', ARCH]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("kconv: --arch builds a net reading pixels / 255, then (x − 0) / 1, but --init other-input.json reads pixels / 255, then (x − 0.1307) / 0.3081: the net comes from the --init file; leave --arch out\n");
  });

  it('an --arch the same as the file\'s is fine; --freeze 0 trains every layer', async () => {
    const r = await run(['train', 'mine.csv', '--init', 'base.json', ...QUICK, '--epochs', '1', '--arch', ARCH, '--out', 'same.json', '--freeze', '0']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/frozen/);
    const base = read('base.json');
    expect(read('same.json').training!.freeze).toBeUndefined();
    expect(bits(read('same.json').net.params()[0].value).join()).not.toBe(bits(base.net.params()[0].value).join());
  });

  it.each([
    [['--freeze', '1']],
    [['--replay', 'train.csv']],
    [['--replay-ratio', '1']],
  ])('refuses %j without --init', async (extra) => {
    const r = await run(['train', 'mine.csv', ...QUICK, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`kconv: ${extra[0]} is for fine-tuning a trained model: give --init model.json (the weights to start from)\n`);
  });

  it('refuses a missing --init file, a manifest, and --freeze or --replay that a resume would change', async () => {
    let r = await run(['train', 'mine.csv', '--init', 'nope.json', ...QUICK]);
    expect([r.code, r.stderr]).toEqual([2, 'kconv: --init nope.json: no such weights file; give the model to fine-tune (a weights file written by kconv train)\n']);
    await run(['train', 'train.csv', '--arch', 'conv4k5,relu,pool2,dense10', '--epochs', '1', '--ensemble', '2', '--out', 'ens.json', '--threads', '1']);
    r = await run(['train', 'mine.csv', '--init', 'ens.json', ...QUICK]);
    expect([r.code, r.stderr]).toEqual([2, 'kconv: --init ens.json is an ensemble manifest: fine-tune one of its models, e.g. --init ens.1.json\n']);
    await run(['train', 'mine.csv', '--init', 'base.json', ...QUICK, '--epochs', '1', '--out', 'short.json', '--replay', 'train.csv']);
    r = await run(['train', 'mine.csv', '--resume', 'short.json', '--epochs', '2', '--freeze', '1']);
    expect([r.code, r.stderr]).toEqual([2, 'kconv: --freeze cannot change when resuming: short.json was trained with --freeze 2, and the batches after it depend on it; leave --freeze out, or start a new run without --resume\n']);
    r = await run(['train', 'mine.csv', '--resume', 'short.json', '--epochs', '2', '--replay', 'mine.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kconv: --replay mine\.csv: not the images short\.json was fine-tuned with \(train\.csv, 300 images; now 100 with other content\), .*; give --replay the same file\n$/);
  });
});
