/**
 * Fine-tuning (train/finetune.ts, trainer's init/freeze/replay): the init model's
 * weights are where training starts and are left untouched; frozen layers (weights and
 * batch-norm running statistics) stay bit-identical; replay mixes the asked number of
 * replay images into every epoch, drawn from (seed, epoch) alone; held-out splits and
 * k-fold measure what they say; stopping throws and leaves nothing changed; bad options
 * are refused in one line. A planted "freeze ignored" fails the frozen-layer check. On
 * one thread: freezing and stopping on two are in test/cli/finetune.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Images } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';
import { parseModel, stringifyModel, type ModelFile } from '../../src/model/weights-file.js';
import { Sequential } from '../../src/net/sequential.js';
import { NO_AUGMENTATION } from '../../src/augment/augment.js';
import { stratifiedSplit } from '../../src/batch/fill.js';
import { evaluate } from '../../src/batch/evaluate.js';
import { defaultFreeze, fineTune, FineTuneStopped, subsetImages, type FineTuneOptions } from '../../src/train/finetune.js';
import { GradientStep } from '../../src/batch/step.js';
import { arenaStats } from '../../src/kernels/memory.js';
import { copyNetwork } from '../../src/train/trainer.js';
import { digitsDataset } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';
import { layerArrays, same, snapshot, unchangedUpTo } from '../helpers/network-arrays.js';

/** Four layers with parameters: conv, bn, conv, dense. */
const ARCH = 'conv4k3p1,bn,relu,pool2,conv8k3p1,relu,pool2,dense10';
const samples = digitsDataset(120, 7);
const replay = digitsDataset(300, 8);
/** How many of the images a stratified split (the seed's) holds out. */
const heldOutOf = (images: Images, fraction: number, seed: number) => stratifiedSplit(images.labels!, images.n, fraction, seed).val.length;
const QUICK: FineTuneOptions = { epochs: 2, lr: 0.01, batchSize: 16, augment: NO_AUGMENTATION, threads: 1, seed: 3 };

afterEach(() => {
  vi.restoreAllMocks();
});

const originalRun = GradientStep.prototype.run;

/**
 * Records every gradient step on this thread as it happens (the epoch's order is
 * reshuffled in place, so rows are copied at the call): its dataset, rows and loss.
 */
function recordSteps(): { data: Images; rows: Int32Array; lossSum: number }[] {
  const steps: { data: Images; rows: Int32Array; lossSum: number }[] = [];
  vi.spyOn(GradientStep.prototype, 'run').mockImplementation(function (this: GradientStep, data, order, start, count, batchCount, augment) {
    const r = originalRun.call(this, data, order, start, count, batchCount, augment);
    steps.push({ data, rows: Int32Array.from(order.subarray(start, start + count)), lossSum: r.lossSum });
    return r;
  });
  return steps;
}

describe('fine-tuning starts from the init model', () => {
  it('the first batch\'s loss is the init model\'s loss on those images, and the init model is left untouched', async () => {
    const init = modelOf('conv4k3p1,relu,pool2,dense10', 5);
    const before = snapshot(init.net);
    const steps = recordSteps();
    const result = await fineTune(init, samples, { ...QUICK, replay, replayVal: replay });
    const { data, rows, lossSum } = steps[0];
    // No dropout, no batch normalization, no augmentation: training's forward is prediction's.
    expect(rows.some((r) => r >= 80)).toBe(true); // replay images in the batch too
    expect(lossSum / rows.length).toBeCloseTo(evaluate(init.net, init.input, data, rows).loss, 5);
    expect(init.net.state().every((v, k) => same(v, before[k]))).toBe(true);
    expect(result.model.net).not.toBe(init.net);
    expect(result.model.net.state().some((v, k) => !same(v, before[k]))).toBe(true);
  });

  it('a net trained from fresh weights would not match that first loss (the check can fail)', async () => {
    const init = modelOf('conv4k3p1,relu,pool2,dense10', 5);
    const other = modelOf('conv4k3p1,relu,pool2,dense10', 6);
    const steps = recordSteps();
    await fineTune(other, samples, { ...QUICK });
    const { data, rows, lossSum } = steps[0];
    expect(Math.abs(lossSum / rows.length - evaluate(init.net, init.input, data, rows).loss)).toBeGreaterThan(1e-3);
  });

  it('the training record names the init file, what was frozen and the replay, and survives a write and read', async () => {
    const init = modelOf(ARCH, 1);
    const r = await fineTune(init, samples, { ...QUICK, freeze: 1, replay, replayRatio: 2, initFile: 'base.json', replayFile: 'train.csv', samplesFile: 'mine.csv' });
    const t = r.model.training!;
    expect(t.init).toEqual({ file: 'base.json' });
    expect(t.freeze).toBe(1);
    expect(t.replay).toMatchObject({ file: 'train.csv', ratio: 2 });
    expect(t.data?.file).toBe('mine.csv');
    expect(t.history).toHaveLength(2);
    const back = parseModel(stringifyModel(r.model), 'x.json');
    expect(back.training).toEqual(t);
    expect(back.arch).toBe(init.arch);
  });
});

describe('frozen layers', () => {
  const init = modelOf(ARCH, 2);
  // freeze 2 = conv4 and its batchnorm: layers 0 and 1 stay; conv8 (layer 4) learns.
  it('freeze 2 leaves the first conv and batchnorm (weights and running statistics) bit-identical, and the rest learns', async () => {
    const r = await fineTune(init, samples, { ...QUICK, freeze: 2, replay, replayVal: replay });
    expect(unchangedUpTo(init, r.model, 2)).toBe(true);
    expect(unchangedUpTo(init, r.model, 5)).toBe(false);
  });

  it('without freezing, the same layers change (batch statistics included)', async () => {
    const r = await fineTune(init, samples, { ...QUICK, freeze: 0 });
    expect(layerArrays(init.net, 0).every((v, k) => same(v, layerArrays(r.model.net, 0)[k]))).toBe(false);
    const runningMean = (m: ModelFile) => m.net.layers[1].buffers!()[0].value;
    expect(same(runningMean(init), runningMean(r.model))).toBe(false);
  });

  it('a planted bug, freeze ignored, fails the check', async () => {
    vi.spyOn(Sequential.prototype, 'freeze').mockImplementation(() => 0);
    const r = await fineTune(init, samples, { ...QUICK, freeze: 2 });
    expect(unchangedUpTo(init, r.model, 2)).toBe(false);
  });

  it('freezing every layer with parameters, or a fraction of one, is refused', async () => {
    await expect(fineTune(init, samples, { ...QUICK, freeze: 4 })).rejects.toThrow(new UsageError(
      'freeze 4: the network conv4k3p1,bn,relu,pool2,conv8k3p1,relu,pool2,dense10 has 4 layers with parameters, and at least the last must learn; freeze 0 to 3 of them',
    ));
    await expect(fineTune(init, samples, { ...QUICK, freeze: 1.5 })).rejects.toThrow(UsageError);
  });
});

describe('replay', () => {
  const init = modelOf('conv4k3p1,relu,pool2,dense10', 3);
  /** Per epoch, the rows of every batch (first-thread view), from a spied GradientStep. */
  async function epochsOf(opts: FineTuneOptions): Promise<{ rows: number[][]; n: number }> {
    const steps = recordSteps();
    await fineTune(init, samples, opts);
    vi.restoreAllMocks();
    const perEpoch = Math.ceil(steps.reduce((a, s) => a + s.rows.length, 0) / opts.epochs! / opts.batchSize!);
    const rows = Array.from({ length: opts.epochs! }, (_, e) => steps.slice(e * perEpoch, (e + 1) * perEpoch).flatMap((s) => Array.from(s.rows)));
    return { rows, n: steps[0].data.n };
  }

  it('each epoch trains on the user\'s training samples once and round(ratio × them) distinct replay images, the same for the same seed', async () => {
    const opts: FineTuneOptions = { ...QUICK, epochs: 3, replay, replayVal: replay, replayRatio: 1.5, heldOut: { kind: 'split', fraction: 0.25 } };
    const a = await epochsOf(opts);
    const b = await epochsOf(opts);
    expect(a.rows).toEqual(b.rows);
    expect(a.rows).toHaveLength(3);
    const userTrain = samples.n - heldOutOf(samples, 0.25, 3);
    expect(a.n).toBe(userTrain + replay.n);
    for (const rows of a.rows) {
      const user = rows.filter((r) => r < userTrain);
      const drawn = rows.filter((r) => r >= userTrain);
      expect(new Set(user).size).toBe(userTrain);
      expect(user).toHaveLength(userTrain);
      expect(drawn).toHaveLength(Math.round(1.5 * userTrain));
      expect(new Set(drawn).size).toBe(drawn.length);
    }
    // Each epoch draws other replay images; another seed draws others again.
    const drawnOf = (rows: number[]) => rows.filter((r) => r >= userTrain).sort((x, y) => x - y);
    expect(drawnOf(a.rows[0])).not.toEqual(drawnOf(a.rows[1]));
    const c = await epochsOf({ ...opts, seed: 4 });
    expect(drawnOf(c.rows[0])).not.toEqual(drawnOf(a.rows[0]));
  });

  it('more replay than there are images cycles through all of them', async () => {
    const few = subsetImages(replay, Int32Array.from({ length: 20 }, (_, i) => i));
    const { rows, n } = await epochsOf({ ...QUICK, epochs: 1, replay: few, replayVal: few, replayRatio: 1 });
    const userTrain = n - 20;
    const drawn = rows[0].filter((r) => r >= userTrain);
    expect(drawn).toHaveLength(userTrain);
    expect(new Set(drawn).size).toBe(20);
  });

  it('without replay validation images, forgetting is measured on held-out replay images that are never replayed', async () => {
    const { rows, n } = await epochsOf({ ...QUICK, epochs: 1, replay, replayRatio: 3 });
    const userTrain = samples.n - heldOutOf(samples, 1 / 3, 3);
    const replayHeld = heldOutOf(replay, 0.1, 3);
    expect(replayHeld).toBeGreaterThan(20);
    expect(n).toBe(userTrain + replay.n - replayHeld);
    const r = await fineTune(init, samples, { ...QUICK, epochs: 1, replay });
    expect(r.replayValImages).toBe(replayHeld);
    expect(r.before.replay).not.toBeNull();
    expect(rows).toHaveLength(1);
  });
});

describe('measuring', () => {
  const init = modelOf('conv4k3p1,relu,pool2,dense10', 4);

  it('reports the accuracies of the init and the fine-tuned model on the held-out samples and the replay validation images', async () => {
    const events: string[] = [];
    const r = await fineTune(init, samples, {
      ...QUICK, epochs: 3, replay, replayVal: replay, heldOut: { kind: 'split', fraction: 0.25 },
      events: { onEpoch: (p) => events.push(`${p.kind} ${p.run}/${p.runs} epoch ${p.epoch}/${p.epochs} ${p.heldOutAcc === null ? '-' : 'held'}`) },
    });
    expect(r.heldOutSamples).toBe(heldOutOf(samples, 0.25, 3));
    expect(r.before.replay).toBeCloseTo(evaluate(init.net, init.input, replay, null).acc, 10);
    expect(r.after.replay).toBeCloseTo(evaluate(r.model.net, r.model.input, replay, null).acc, 10);
    expect(r.after.user).toBeGreaterThan(r.before.user!);
    expect(events).toEqual(['final 1/1 epoch 1/3 held', 'final 1/1 epoch 2/3 held', 'final 1/1 epoch 3/3 held']);
    expect(r.history.map((h) => h.valAcc)).toEqual([expect.any(Number), expect.any(Number), r.after.user]);
  });

  it('k-fold: k runs measure every sample once, then the final model learns from all of them', async () => {
    const runs: string[] = [];
    let heldOutSamples = -1;
    const r = await fineTune(init, samples, {
      ...QUICK, epochs: 1, heldOut: { kind: 'kfold', k: 3 },
      events: { onStart: (i) => (heldOutSamples = i.heldOutSamples), onEpoch: (p) => runs.push(`${p.kind} ${p.run}/${p.runs} ${p.heldOutAcc === null ? '-' : 'held'}`) },
    });
    expect(runs).toEqual(['fold 1/4 held', 'fold 2/4 held', 'fold 3/4 held', 'final 4/4 -']);
    expect(heldOutSamples).toBe(samples.n);
    expect(r.heldOutSamples).toBe(samples.n);
    expect(r.before.user).toBeCloseTo(evaluate(init.net, init.input, samples, null).acc, 10);
    expect(r.model.training!.data!.images).toBe(samples.n);
    expect(r.after.replay).toBeNull();
  });

  it.each([
    [{ heldOut: { kind: 'split', fraction: 0.01 } }, 'holding out 0.01 of each digit of the 120 samples holds out none (rounded per digit): give more samples of each digit, a larger fraction, or k-fold'],
    [{ heldOut: { kind: 'kfold', k: 1 } }, '1-fold: k must be a whole number from 2 to the number of samples (120)'],
    [{ replayRatio: 0 }, 'replay ratio 0: give a number above 0, at most 1000'],
    [{ epochs: 0 }, 'fine-tuning epochs 0: give a whole number from 1 to 1000'],
    [{ lr: -1 }, 'fine-tuning learning rate -1: give a number > 0'],
  ] as [FineTuneOptions, string][])('refuses %j in one line', async (opts, message) => {
    await expect(fineTune(init, samples, { ...QUICK, ...opts })).rejects.toThrow(new UsageError(message));
  });

  it('refuses samples without labels', async () => {
    const unlabelled: Images = { ...samples, labels: null };
    await expect(fineTune(init, unlabelled, { ...QUICK, samplesFile: 'mine.csv' })).rejects.toThrow(new UsageError('mine.csv: fine-tuning needs labelled samples (a label column)'));
  });
});

describe('stopping', () => {
  it('shouldStop (or the abort signal) ends the run with FineTuneStopped, the init model untouched', async () => {
    const init = modelOf(ARCH, 6);
    const before = snapshot(init.net);
    let batches = 0;
    await expect(fineTune(init, samples, { ...QUICK, replay, events: { onBatch: () => batches++, shouldStop: () => batches >= 2 } })).rejects.toThrow(FineTuneStopped);
    expect(batches).toBe(2);
    expect(init.net.state().every((v, k) => same(v, before[k]))).toBe(true);
    const abort = new AbortController();
    abort.abort();
    await expect(fineTune(init, samples, { ...QUICK, signal: abort.signal })).rejects.toThrow(FineTuneStopped);
  });
});

describe('defaults', () => {
  it('freeze every layer with parameters before the first dense layer (the features), none when a dense layer comes first', async () => {
    expect(defaultFreeze(modelOf(ARCH, 1).net)).toBe(3);
    expect(defaultFreeze(modelOf('wide', 1).net)).toBe(4);
    expect(defaultFreeze(modelOf('bn', 1).net)).toBe(8);
    expect(defaultFreeze(modelOf('dense16,relu,dense10', 1).net)).toBe(0);
    const r = await fineTune(modelOf(ARCH, 1), samples, { ...QUICK, epochs: 1 });
    expect(r.model.training!.freeze).toBe(3);
    expect(r.model.training!.optimizer).toMatchObject({ name: 'adam', lr: 0.01 });
  });
});

describe('memory in a long-running process', () => {
  it('fine-tune after fine-tune, the kernel arena grows by little more than the new model\'s arrays (networks are lent, not made anew)', async () => {
    const init = modelOf(ARCH, 7);
    const run = () => fineTune(init, samples, { ...QUICK, epochs: 1, replay, replayVal: replay, heldOut: { kind: 'kfold', k: 2 } });
    await run();
    const used = () => arenaStats().usedBytes;
    const before = used();
    for (let i = 0; i < 3; i++) await run();
    const perRun = (used() - before) / 3;
    // Each run's new models (k + 1 of them) own their parameters and gradients, and a few small arrays.
    const modelBytes = 2 * 4 * init.net.params().reduce((n, p) => n + p.value.length, 0);
    const bound = 4 * (modelBytes + 128 * 1024);
    expect(perRun).toBeLessThan(bound);
    // What a new network per measurement costs: evaluation buffers for a batch of 256 images.
    const at = used();
    evaluate(copyNetwork(init.net), init.input, replay, null);
    expect(used() - at).toBeGreaterThan(10 * bound);
  });
});
