/**
 * The rules of kconv train as library functions (train/request.ts, resume.ts, init.ts,
 * ensemble.ts, plan.ts), checked directly, without spawning the CLI: what a new run
 * takes from its recipe, what a resume keeps from the checkpoint and what the command
 * line may change, what is refused and with which line, how an ensemble is planned, and
 * that a single model is planned as an ensemble of one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { stringifyModel, type ModelFile, type TrainingRecord } from '../../src/model/weights-file.js';
import { NO_AUGMENTATION } from '../../src/augment/augment.js';
import { freshPlans, resumedPlans } from '../../src/train/ensemble.js';
import { initOptions } from '../../src/train/init.js';
import { claimOutputs, planTraining, ready, recordedThreads } from '../../src/train/plan.js';
import { freshOptions, type TrainRequest, type Typed } from '../../src/train/request.js';
import { resumeNote, resumeOptions, resumePoint } from '../../src/train/resume.js';
import { tempDir } from '../helpers/digits.js';
import { usageMessage } from '../helpers/refusal.js';
import { modelOf } from '../helpers/models.js';

const ARCH = 'conv4k3,relu,pool2,dense10';

/** The request as the command line gives it with nothing typed (commander's defaults). */
const DEFAULTS: TrainRequest = { recipe: 'default', valSplit: 0.1, seed: 1, out: 'model.json', optimizerState: true };

/** A request with `typed` options given on the command line (the others at their defaults). */
function asked(typed: Partial<TrainRequest>): { request: TrainRequest; typed: Typed } {
  return { request: { ...DEFAULTS, ...typed }, typed: (option) => option in typed };
}

/** A checkpoint of `done` epochs (of `epochs`), trained with options unlike the defaults in every field a resume keeps. */
function checkpoint(done: number, epochs = 4, extra: Partial<TrainingRecord> = {}): ModelFile {
  const history = Array.from({ length: done }, (_, i) => ({ epoch: i + 1, loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.5, seconds: 1, lr: 0.01 }));
  return {
    ...modelOf(ARCH, 3),
    training: {
      epochs, seed: 7, batchSize: 16,
      optimizer: { name: 'adam', lr: 0.002, momentum: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0001 },
      schedule: 'onecycle', validation: { kind: 'split', fraction: 0.2 },
      augment: { ...NO_AUGMENTATION, affine: true, erase: 0.25 }, labelSmoothing: 0.1, ema: 0.99, limit: 300, threads: 2,
      history, ...extra,
    },
  };
}

describe('a new run (freshOptions)', () => {
  it('takes the recipe, with the options typed winning; a changed optimizer brings its own default rate', () => {
    const best = freshOptions({ ...DEFAULTS, recipe: 'best' });
    expect(best).toMatchObject({ arch: 'wide', optimizer: 'adam', lr: 0.003, schedule: 'onecycle', epochs: 12, seed: 1, out: 'model.json', validation: { kind: 'split', fraction: 0.1 } });
    expect(best.augment.elastic).toBe(34);
    expect(freshOptions({ ...DEFAULTS, recipe: 'best', epochs: 2, augment: false }).augment).toEqual(NO_AUGMENTATION);
    expect(freshOptions({ ...DEFAULTS, optimizer: 'adam' }).lr).toBe(0.001);
    expect(freshOptions({ ...DEFAULTS, optimizer: 'adam', lr: 0.5 }).lr).toBe(0.5);
    expect(freshOptions({ ...DEFAULTS, val: 'v.csv' }).validation).toEqual({ kind: 'file', file: 'v.csv' });
    expect(freshOptions({ ...DEFAULTS, valSplit: 0 }).validation).toEqual({ kind: 'none' });
  });

  it('refuses --save-best with nothing to validate on, and an architecture that does not end in ten scores', () => {
    expect(usageMessage(() => freshOptions({ ...DEFAULTS, saveBest: true, val: false }))).toContain('with --no-val there is none');
    expect(usageMessage(() => freshOptions({ ...DEFAULTS, saveBest: true, valSplit: 0 }))).toContain('with --val-split 0 no images are held out');
    expect(() => freshOptions({ ...DEFAULTS, arch: 'conv4k3,relu,pool2,dense7' })).toThrow(/must be dense10/);
  });
});

describe('a resumed run (resumeOptions)', () => {
  it('keeps from the checkpoint what decides the batches, whatever the untyped defaults say', () => {
    const { request, typed } = asked({});
    const opts = resumeOptions(request, typed, 'ck.json', checkpoint(2));
    expect(opts).toMatchObject({
      arch: ARCH, batchSize: 16, seed: 7, validation: { kind: 'split', fraction: 0.2 }, limit: 300,
      labelSmoothing: 0.1, ema: 0.99, epochs: 4, optimizer: 'adam', lr: 0.002, schedule: 'onecycle', weightDecay: 0.0001,
      out: 'ck.json', resumedFile: 'ck.json',
    });
    expect(opts.augment).toEqual({ ...NO_AUGMENTATION, affine: true, erase: 0.25 });
    expect(resumeNote(opts, checkpoint(2))).toBeNull();
  });

  it('takes what may change from the command line: epochs, rate, schedule, optimizer (with its own rate), weight decay, --out', () => {
    const { request, typed } = asked({ epochs: 9, lrSchedule: 'constant', optimizer: 'sgd', weightDecay: 0, out: 'next.json' });
    const opts = resumeOptions(request, typed, 'ck.json', checkpoint(2));
    expect(opts).toMatchObject({ epochs: 9, schedule: 'constant', optimizer: 'sgd', lr: 0.05, weightDecay: 0, out: 'next.json', resumedFile: 'ck.json', seed: 7, batchSize: 16 });
    expect(resumeNote(opts, checkpoint(2))).toBe('resuming with optimizer adam → sgd (its state starts afresh), lr 0.002 → 0.05, schedule onecycle → constant: a new constant schedule runs from here to epoch 9');
  });

  it('accepts a fixed option typed with the value it already has, and refuses one that would change it, naming the old value', () => {
    expect(resumeOptions(asked({ batchSize: 16, seed: 7, limit: 300, ema: 0.99 }).request, asked({ batchSize: 16, seed: 7, limit: 300, ema: 0.99 }).typed, 'ck.json', checkpoint(1)).batchSize).toBe(16);
    const refused = (typed: Partial<TrainRequest>) => usageMessage(() => resumeOptions(asked(typed).request, asked(typed).typed, 'ck.json', checkpoint(1)));
    expect(refused({ batchSize: 32 })).toBe('--batch-size cannot change when resuming: ck.json was trained with batch size 16, and the batches after it depend on it; leave --batch-size out, or start a new run without --resume');
    expect(refused({ seed: 1 })).toContain('seed 7');
    expect(refused({ limit: 100 })).toContain('--limit 300');
    expect(refused({ arch: 'default' })).toContain(`the network ${ARCH}`);
    expect(refused({ augment: false })).toMatch(/^--no-augment cannot change/);
    expect(refused({ erase: 0 })).toMatch(/^--erase cannot change/);
    expect(refused({ labelSmoothing: 0 })).toContain('label smoothing 0.1');
    expect(refused({ ema: 0 })).toContain('--ema 0.99');
    expect(refused({ val: false })).toContain('--val-split 0.2');
    expect(refused({ valSplit: 0.1 })).toMatch(/^--val-split cannot change/);
    expect(refused({ freeze: 1 })).toContain('no layers frozen');
    expect(refused({ replay: 'r.csv' })).toContain('no --replay');
    expect(refused({ recipe: 'best' })).toMatch(/^--recipe chooses a new run's options/);
  });

  it('refuses a file with no training record, one trained to its target, and --save-best without validation', () => {
    const plain = modelOf(ARCH);
    expect(usageMessage(() => resumeOptions(DEFAULTS, () => false, 'w.json', plain))).toBe('w.json: has no training record to resume from (was it written by kconv train?)');
    expect(usageMessage(() => resumeOptions(DEFAULTS, () => false, 'ck.json', checkpoint(4)))).toBe('ck.json: already trained for 4 epochs; give --epochs N with N > 4 to train more');
    expect(resumeOptions({ ...DEFAULTS, epochs: 5 }, (o) => o === 'epochs', 'ck.json', checkpoint(4)).epochs).toBe(5);
    const noVal = checkpoint(1, 4, { validation: { kind: 'none' } });
    expect(usageMessage(() => resumeOptions({ ...DEFAULTS, saveBest: true }, (o) => o === 'saveBest', 'ck.json', noVal))).toContain('ck.json was trained without validation');
  });

  it('says where it picks up: after the last epoch, or inside the stopped one', () => {
    expect(resumePoint(checkpoint(2).training!, 'ck.json')).toBe('resuming at epoch 3, batch 1 (2 epochs done), saving to ck.json');
    const stopped = checkpoint(1, 4, { position: { epoch: 2, batch: 5, lossSum: 1, correct: 1, seen: 80 } }).training!;
    expect(resumePoint(stopped, null)).toBe('resuming at epoch 2, batch 6 (1 epoch done and 5 batches of epoch 2)');
  });
});

describe('a fine-tune (initOptions)', () => {
  it('starts from the file: its net, fine-tuning defaults, the features frozen, beside it by default', () => {
    const init = modelOf('conv4k3,relu,pool2,conv8k3,relu,dense10');
    const opts = initOptions(DEFAULTS, () => false, 'base.json', init);
    expect(opts).toMatchObject({ arch: init.arch, optimizer: 'adam', lr: 0.001, epochs: 12, batchSize: 32, out: 'base.finetuned.json', freeze: 2 });
    expect(opts.init).toEqual({ model: init, file: 'base.json' });
    expect(initOptions({ ...DEFAULTS, out: 'x.json', freeze: 0 }, (o) => o === 'out' || o === 'freeze', 'base.json', init)).toMatchObject({ out: 'x.json', freeze: 0 });
  });

  it('refuses another net, --ensemble, and freezing every layer', () => {
    const init = modelOf(ARCH);
    expect(usageMessage(() => initOptions({ ...DEFAULTS, arch: 'default' }, (o) => o === 'arch', 'b.json', init))).toMatch(/^--arch default conflicts with --init b\.json/);
    expect(usageMessage(() => initOptions({ ...DEFAULTS, ensemble: 2 }, () => false, 'b.json', init))).toMatch(/^--ensemble trains new models/);
    expect(usageMessage(() => initOptions({ ...DEFAULTS, freeze: 2 }, () => false, 'b.json', init))).toContain('give --freeze 0 to 1');
  });
});

describe('plans: an ensemble, and a single model as an ensemble of one', () => {
  it('a new ensemble counts the seed up, each model beside the manifest', () => {
    const plans = freshPlans({ ...DEFAULTS, seed: 4, out: path.join('d', 'ens.json') }, 3);
    expect(plans.map((p) => [p.index, p.name, p.opts.seed, p.opts.out])).toEqual([
      [1, 'ens.1.json', 4, path.join('d', 'ens.1.json')], [2, 'ens.2.json', 5, path.join('d', 'ens.2.json')], [3, 'ens.3.json', 6, path.join('d', 'ens.3.json')],
    ]);
  });

  it('a single model is one member without a manifest; --out typed on a resume says --out, else --resume', async () => {
    const dir = tempDir();
    const ck = path.join(dir, 'ck.json');
    writeFileSync(ck, stringifyModel(checkpoint(2)));
    const fresh = await planTraining({ ...DEFAULTS, out: path.join(dir, 'm.json') }, () => false);
    expect(fresh).toMatchObject({ manifest: null, outFlag: '--out', members: [{ index: 1, name: 'm.json' }] });
    const resumed = await planTraining({ ...DEFAULTS, resume: ck }, (o) => o === 'resume');
    expect(resumed).toMatchObject({ manifest: null, outFlag: '--resume' });
    expect(resumed.members[0].opts.out).toBe(ck);
    expect(recordedThreads(resumed)).toBe(2);
    const elsewhere = await planTraining({ ...DEFAULTS, resume: ck, out: path.join(dir, 'n.json') }, (o) => o === 'resume' || o === 'out');
    expect(elsewhere.outFlag).toBe('--out');
    await expect(planTraining({ ...DEFAULTS, resume: ck, ensemble: 2 }, () => true)).rejects.toThrow(/is a single model's weights file/);
    await expect(planTraining({ ...DEFAULTS, ensemble: 2, saveBest: true }, () => false)).rejects.toThrow(/^--save-best does not go with ensembles/);
    await expect(planTraining({ ...DEFAULTS, init: ck, resume: ck }, () => false)).rejects.toThrow(/give one of them$/);
    await expect(planTraining({ ...DEFAULTS, freeze: 1 }, (o) => o === 'freeze')).rejects.toThrow(/^--freeze is for fine-tuning/);
  });

  it('a resumed ensemble: a finished model is left, a stopped one continued, one not started begun as the first with its own seed', async () => {
    const dir = tempDir();
    const manifest = path.join(dir, 'ens.json');
    writeFileSync(path.join(dir, 'ens.1.json'), stringifyModel(checkpoint(4)));
    writeFileSync(path.join(dir, 'ens.2.json'), stringifyModel(checkpoint(1, 4, { seed: 8 })));
    const names = ['ens.1.json', 'ens.2.json', 'ens.3.json'];
    const plans = await resumedPlans(DEFAULTS, () => false, manifest, names);
    expect(plans.map((p) => [p.done ?? false, p.opts.seed, p.resume !== undefined])).toEqual([[true, 7, true], [false, 8, true], [false, 9, false]]);
    expect(plans[2].opts).toMatchObject({ arch: ARCH, batchSize: 16, optimizer: 'adam', lr: 0.002, out: path.join(dir, 'ens.3.json') });
    await expect(resumedPlans({ ...DEFAULTS, lr: 0.1 }, (o) => o === 'lr', manifest, names)).rejects.toBeInstanceOf(UsageError);
    await expect(resumedPlans({ ...DEFAULTS, lr: 0.1 }, (o) => o === 'lr', manifest, names)).rejects.toThrow(/^--lr cannot change while models of .* have not started/);
    await expect(resumedPlans({ ...DEFAULTS, ensemble: 2 }, () => false, manifest, names)).rejects.toThrow(/is an ensemble of 3 models/);
    await expect(resumedPlans(DEFAULTS, (o) => o === 'out', manifest, names)).rejects.toThrow(/^--out does not go with --resume of an ensemble/);
    await expect(resumedPlans({ ...DEFAULTS, seed: 8 }, (o) => o === 'seed', manifest, names)).rejects.toThrow(/(the others count up from it)/);
    await expect(resumedPlans(DEFAULTS, () => false, manifest, ['ens.1.json'])).rejects.toThrow(/every model is already trained \(4 epochs\)/);
  });

  it('claims every file before work (a second claim is refused until released), and says a changed data set once', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'sub'));
    const plan = { manifest: path.join(dir, 'e.json'), outFlag: '--out' as const, members: freshPlans({ ...DEFAULTS, out: path.join(dir, 'e.json') }, 2) };
    const release = await claimOutputs(plan, []);
    await expect(claimOutputs(plan, [])).rejects.toThrow(/e\.json/);
    release();
    (await claimOutputs(plan, []))();
    await expect(claimOutputs({ ...plan, manifest: path.join(dir, 'sub') }, [])).rejects.toThrow(/^--out .*sub/);
    const resumedPlan = { manifest: null, outFlag: '--resume' as const, members: [{ index: 1, name: 'ck.json', opts: resumeOptions(DEFAULTS, () => false, 'ck.json', checkpoint(1, 4, { data: { file: 'a.csv', images: 10, sha256: 'aa' } })), resume: checkpoint(1, 4, { data: { file: 'a.csv', images: 10, sha256: 'aa' } }) }] };
    const now = { file: 'b.csv', images: 12, sha256: 'bb' };
    expect(ready(resumedPlan, now)).toEqual(['warning: b.csv is not the data ck.json was trained on (a.csv, 10 images; now 12 images with other content): training goes on with it']);
    expect(resumedPlan.members[0].opts.data).toBe(now);
    expect(ready(resumedPlan, { ...now, sha256: 'aa' })).toEqual([]);
  });
});
