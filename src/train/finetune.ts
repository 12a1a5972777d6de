/**
 * Fine-tuning: teaching a trained model someone's own handwriting. A run starts from
 * the model's weights (train()'s `init`), learns from the user's samples with a replay
 * of the original training images mixed in (so that it does not forget the digits it
 * knew), optionally with the first layers frozen, and is measured before and after on
 * the user's held-out samples and on held-out replay images, so that a fine-tune that
 * forgets shows.
 *
 * For the server as much as the command line: it prints nothing, throws typed errors,
 * stops when asked (FineTuneStopped), and trains on the worker threads when threads > 1.
 */
import { KconvError, UsageError } from '../errors.js';
import type { Images } from '../data/index.js';
import type { EpochRecord, ModelFile } from '../model/weights-file.js';
import { CLASSES } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import type { OptimizerName } from '../optim/optimizer.js';
import type { ScheduleName } from '../optim/schedule.js';
import { mixSeed, Random } from '../random.js';
import { augmentSettings, NO_AUGMENTATION, type AugmentSettings } from '../augment/augment.js';
import { stratifiedSplit } from '../batch/fill.js';
import type { Recipe } from './recipes.js';
import { evaluate } from '../batch/evaluate.js';
import { withCopy } from './work-network.js';
import { dataFingerprint, train, type BatchProgress, type TrainOptions } from './trainer.js';

/** The defaults, chosen on the 200 Dig-MNIST digits of bench/finetune.mjs (see the README). */
export const FINETUNE_DEFAULTS = {
  epochs: 12,
  lr: 0.001,
  batchSize: 32,
  optimizer: 'adam' as OptimizerName,
  schedule: 'cosine' as ScheduleName,
  /** Layers with parameters kept fixed: 'features', every one before the first dense layer (see defaultFreeze). */
  freeze: 'features',
  replayRatio: 4,
  /** Of the replay file, held out to measure forgetting when no validation images are given. */
  replayValFraction: 0.1,
} as const;

/**
 * How many layers with parameters a fine-tune keeps fixed by default: those before the
 * first dense layer (the convolutions and their batch normalization: the features), so
 * that only the classifier learns. On the wide net (bench/finetune.mjs) freezing the four
 * convolutions gained as much on the user's digits as training everything and lost
 * nothing of the original ones, where training everything forgot some.
 */
export function defaultFreeze(net: Sequential): number {
  const withParams = net.layers.filter((l) => l.params().length > 0);
  const firstDense = withParams.findIndex((l) => l.type === 'dense');
  return Math.max(0, Math.min(firstDense < 0 ? 0 : firstDense, withParams.length - 1));
}

/** The augmentation a fine-tune of `init` uses by default: the one it was trained with, else the affine warp. */
export function defaultAugmentation(init: ModelFile): AugmentSettings {
  return init.training ? augmentSettings(init.training.augment) : { ...NO_AUGMENTATION, affine: true };
}

/** The defaults as a recipe, for `kconv train --init` (its net is the init model's). */
export function fineTuneRecipe(init: ModelFile): Recipe {
  const d = FINETUNE_DEFAULTS;
  return {
    arch: init.arch, optimizer: d.optimizer, lr: d.lr, schedule: d.schedule, epochs: d.epochs, batchSize: d.batchSize,
    augment: defaultAugmentation(init), weightDecay: 0, labelSmoothing: 0, ema: 0,
  };
}

/** How the user's samples are held out to measure the fine-tune. */
export type HeldOut =
  /** The same fraction of every digit held out (a seeded stratified split); the model learns from the rest. */
  | { kind: 'split'; fraction: number }
  /**
   * k models, each trained with one of k stratified folds held out, measure every sample
   * once; the model returned then learns from all of them (k + 1 runs).
   */
  | { kind: 'kfold'; k: number }
  /** None held out: the model learns from every sample, and the user accuracies are null (measure elsewhere). */
  | { kind: 'none' };

export interface FineTuneOptions {
  /** The original training images, mixed in as replay; none: the user's samples alone. */
  replay?: Images | null;
  /** Replay images per user image in each epoch (> 0). */
  replayRatio?: number;
  /** Labelled images that measure forgetting; absent: held-out replay images (see fineTune). */
  replayVal?: Images | null;
  /** Layers with parameters kept fixed, counted from the input; default defaultFreeze (the features). */
  freeze?: number;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  schedule?: ScheduleName;
  /** Augmentation of the training images; absent: the init model's recorded augmentation, else the affine warp. */
  augment?: AugmentSettings;
  seed?: number;
  /** Threads computing each batch (worker threads when > 1). */
  threads?: number;
  heldOut?: HeldOut;
  /** Names for the training record: the weights file started from, the samples, the replay images. */
  initFile?: string;
  samplesFile?: string;
  replayFile?: string;
  /** Stops the run (FineTuneStopped) at the end of the current batch, like events.shouldStop. */
  signal?: AbortSignal;
  events?: FineTuneEvents;
}

/** Where a fine-tune is: run `run` of `runs` (k-fold: folds 1..k, then the final model). */
export interface FineTuneRun {
  run: number;
  runs: number;
  /** 'fold': a model that measures one held-out fold; 'final': the model returned. */
  kind: 'fold' | 'final';
}

export interface FineTuneEpoch extends FineTuneRun {
  epoch: number;
  epochs: number;
  /** Mean loss and accuracy over the epoch's training images (the user's and the replayed). */
  loss: number;
  acc: number;
  /** Accuracy on the user's samples held out from this run, null when none is. */
  heldOutAcc: number | null;
  seconds: number;
}

export interface FineTuneEvents {
  /** Once the samples are split, before any training. */
  onStart?: (info: { runs: number; epochs: number; trainSamples: number; heldOutSamples: number; replayImages: number; replayValImages: number }) => void;
  onBatch?: (p: BatchProgress & FineTuneRun) => void;
  onEpoch?: (p: FineTuneEpoch) => void;
  /** Polled after every batch: true stops the fine-tune (FineTuneStopped). */
  shouldStop?: () => boolean;
}

/** Accuracy (0..1) on the user's held-out samples, and on the held-out replay images; null where there are none. */
export interface Accuracies {
  user: number | null;
  replay: number | null;
}

export interface FineTuneResult {
  /** The fine-tuned model, a network of its own (the init model is left as it was), its training record saying what it came from. */
  model: ModelFile;
  before: Accuracies;
  after: Accuracies;
  /** How many of the user's samples the user accuracies are over, and how many replay images the replay ones. */
  heldOutSamples: number;
  replayValImages: number;
  /** The returned model's epochs. */
  history: EpochRecord[];
  seconds: number;
}

/** The fine-tune was asked to stop (shouldStop or the abort signal): nothing was produced. */
export class FineTuneStopped extends KconvError {
  override readonly exitCode = 130;
}

/**
 * Fine-tunes `init` on the user's labelled `samples`, returning the new model and
 * accuracies before and after. User accuracy is on held-out samples (`heldOut`, default
 * a stratified third; with a split the returned model has not seen them). Replay
 * accuracy is on `replayVal` when given; else, with replay, on a held-out part of the
 * replay images that is never replayed: the model's own validation split when it was
 * trained on these images with one (its training record says so), else a stratified 10%.
 */
export async function fineTune(init: ModelFile, samples: Images, opts: FineTuneOptions = {}): Promise<FineTuneResult> {
  const started = performance.now();
  const settings = settingsOf(init, samples, opts);
  const { replayPool, replayVal } = splitReplay(init, opts, settings.seed);
  const folds = foldsOf(samples, settings.heldOut, settings.seed);
  const events = opts.events ?? {};
  const stop = () => Boolean(opts.signal?.aborted || events.shouldStop?.());
  const runs = folds.length + (settings.heldOut.kind === 'kfold' ? 1 : 0);
  const heldOutAll = folds.reduce((n, f) => n + f.heldOut.length, 0);
  events.onStart?.({
    runs, epochs: settings.epochs, trainSamples: folds[0].train.length, heldOutSamples: heldOutAll,
    replayImages: replayPool?.n ?? 0, replayValImages: replayVal?.n ?? 0,
  });

  // Before: the init model on every held-out sample (each is held out by exactly one fold).
  const allHeldOut = Int32Array.from(folds.flatMap((f) => Array.from(f.heldOut))).sort();
  const before: Accuracies = {
    user: allHeldOut.length > 0 ? accuracy(init, samples, allHeldOut) : null,
    replay: replayVal ? accuracy(init, replayVal, null) : null,
  };

  let correct = 0;
  let last: { model: ModelFile; history: EpochRecord[] } | null = null;
  for (let r = 0; r < runs; r++) {
    if (stop()) throw new FineTuneStopped('fine-tuning stopped');
    const final = r === runs - 1;
    const fold = folds[r] ?? { train: allRows(samples.n), heldOut: new Int32Array(0) };
    const where: FineTuneRun = { run: r + 1, runs, kind: final ? 'final' : 'fold' };
    const trained = await trainOnce(init, samples, fold, replayPool, settings, opts, where, events, stop);
    if (fold.heldOut.length > 0) correct += Math.round(accuracy(trained.model, samples, fold.heldOut) * fold.heldOut.length);
    if (final) last = trained;
  }
  const model = last!.model;
  const after: Accuracies = {
    user: allHeldOut.length > 0 ? correct / allHeldOut.length : null,
    replay: replayVal ? accuracy(model, replayVal, null) : null,
  };
  return {
    model, before, after, heldOutSamples: allHeldOut.length, replayValImages: replayVal?.n ?? 0,
    history: last!.history, seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A model's accuracy on images (the rows given, or all), measured in a borrowed network:
 * neither the caller's model nor the new one grows evaluation buffers (work-network.ts).
 */
function accuracy(model: ModelFile, images: Images, rows: Int32Array | null): number {
  return withCopy(model.net, (net) => evaluate(net, model.input, images, rows).acc);
}

interface Settings {
  epochs: number;
  lr: number;
  batchSize: number;
  optimizer: OptimizerName;
  schedule: ScheduleName;
  freeze: number;
  replayRatio: number;
  augment: AugmentSettings;
  seed: number;
  threads: number;
  heldOut: HeldOut;
}

const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;

/** The options with their defaults, each checked (the server passes what a request asked for). */
function settingsOf(init: ModelFile, samples: Images, opts: FineTuneOptions): Settings {
  const name = opts.samplesFile ?? 'the samples';
  if (!samples.labels) throw new UsageError(`${name}: fine-tuning needs labelled samples (a label column)`);
  if (samples.n === 0) throw new UsageError(`${name}: no samples to fine-tune on`);
  const d = FINETUNE_DEFAULTS;
  const s: Settings = {
    epochs: opts.epochs ?? d.epochs,
    lr: opts.lr ?? d.lr,
    batchSize: opts.batchSize ?? d.batchSize,
    optimizer: opts.optimizer ?? d.optimizer,
    schedule: opts.schedule ?? d.schedule,
    freeze: opts.freeze ?? defaultFreeze(init.net),
    replayRatio: opts.replayRatio ?? d.replayRatio,
    augment: opts.augment ?? defaultAugmentation(init),
    seed: opts.seed ?? 1,
    threads: opts.threads ?? 1,
    heldOut: opts.heldOut ?? { kind: 'split', fraction: 1 / 3 },
  };
  if (!positiveInt(s.epochs) || s.epochs > 1000) throw new UsageError(`fine-tuning epochs ${s.epochs}: give a whole number from 1 to 1000`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new UsageError(`fine-tuning learning rate ${s.lr}: give a number > 0`);
  if (!positiveInt(s.batchSize)) throw new UsageError(`fine-tuning batch size ${s.batchSize}: give a whole number ≥ 1`);
  if (!positiveInt(s.threads)) throw new UsageError(`fine-tuning threads ${s.threads}: give a whole number ≥ 1`);
  if (!(s.replayRatio > 0 && s.replayRatio <= 1000)) throw new UsageError(`replay ratio ${s.replayRatio}: give a number above 0, at most 1000`);
  if (!Number.isInteger(s.seed) || s.seed < 0) throw new UsageError(`fine-tuning seed ${s.seed}: give a whole number ≥ 0`);
  const h = s.heldOut;
  if (h.kind === 'split' && !(h.fraction > 0 && h.fraction < 1)) throw new UsageError(`held-out fraction ${h.fraction}: give a number above 0 and below 1`);
  if (h.kind === 'kfold' && !(Number.isInteger(h.k) && h.k >= 2 && h.k <= samples.n)) {
    throw new UsageError(`${h.k}-fold: k must be a whole number from 2 to the number of samples (${samples.n})`);
  }
  return s;
}

/** Indices 0 .. n − 1. */
function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * The runs' (train, held-out) rows. A split: one, the fraction of each digit held out.
 * k-fold: k, each digit's samples dealt round the folds in a seeded order (continuing
 * from digit to digit, so the folds differ in size by at most one).
 */
function foldsOf(samples: Images, heldOut: HeldOut, seed: number): { train: Int32Array; heldOut: Int32Array }[] {
  if (heldOut.kind === 'none') return [{ train: allRows(samples.n), heldOut: new Int32Array(0) }];
  if (heldOut.kind === 'split') {
    const split = stratifiedSplit(samples.labels!, samples.n, heldOut.fraction, seed);
    if (split.val.length === 0) {
      throw new UsageError(`holding out ${heldOut.fraction} of each digit of the ${samples.n} samples holds out none (rounded per digit): give more samples of each digit, a larger fraction, or k-fold`);
    }
    if (split.train.length === 0) throw new UsageError(`holding out ${heldOut.fraction} of each digit of the ${samples.n} samples leaves none to learn from: give a smaller fraction`);
    return [{ train: split.train, heldOut: split.val }];
  }
  const k = heldOut.k;
  const random = new Random(mixSeed(seed, 0xf01d));
  const byClass: number[][] = Array.from({ length: CLASSES }, () => []);
  for (let i = 0; i < samples.n; i++) byClass[samples.labels![i]].push(i);
  const foldOf = new Int32Array(samples.n);
  let next = 0;
  for (const members of byClass) {
    random.shuffle(members);
    for (const i of members) foldOf[i] = next++ % k;
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < samples.n; i++) (foldOf[i] === f ? held : train).push(i);
    if (train.length === 0) throw new UsageError(`${k}-fold of the ${samples.n} samples: a fold leaves none to learn from`);
    return { train: Int32Array.from(train), heldOut: Int32Array.from(held) };
  });
}

/** The images at `rows`, as a dataset of their own. */
export function subsetImages(images: Images, rows: Int32Array): Images {
  const pixels = new Uint8Array(rows.length * 784);
  const labels = images.labels ? new Uint8Array(rows.length) : null;
  rows.forEach((row, i) => {
    pixels.set(images.pixels.subarray(row * 784, (row + 1) * 784), i * 784);
    if (labels) labels[i] = images.labels![row];
  });
  return { n: rows.length, pixels, labels, ids: null };
}

/**
 * The replay images to draw from, and those that measure forgetting. Given `replayVal`,
 * all replay images are drawn from. Else a held-out part of the replay images: the
 * model's own validation split when its record says it was trained on exactly these
 * images with one (those it never learned from), else a stratified 10%.
 */
function splitReplay(init: ModelFile, opts: FineTuneOptions, seed: number): { replayPool: Images | null; replayVal: Images | null } {
  const replay = opts.replay ?? null;
  if (replay && (!replay.labels || replay.n === 0)) throw new UsageError(`${opts.replayFile ?? 'the replay images'}: replay needs labelled images, at least one`);
  if (opts.replayVal && (!opts.replayVal.labels || opts.replayVal.n === 0)) throw new UsageError('the replay validation images must be labelled, at least one');
  if (opts.replayVal || !replay) return { replayPool: replay, replayVal: opts.replayVal ?? null };
  const t = init.training;
  const own = t?.validation.kind === 'split' && t.data?.sha256 === dataFingerprint('', replay).sha256 && t.limit === null;
  const split = own
    ? stratifiedSplit(replay.labels!, replay.n, (t!.validation as { fraction: number }).fraction, t!.seed)
    : stratifiedSplit(replay.labels!, replay.n, FINETUNE_DEFAULTS.replayValFraction, seed);
  if (split.val.length === 0 || split.train.length === 0) return { replayPool: replay, replayVal: null };
  return { replayPool: subsetImages(replay, split.train), replayVal: subsetImages(replay, split.val) };
}

/** One fine-tuning run from `init` on the fold's training samples (and replay), in memory. */
async function trainOnce(
  init: ModelFile, samples: Images, fold: { train: Int32Array; heldOut: Int32Array }, replay: Images | null,
  s: Settings, opts: FineTuneOptions, where: FineTuneRun, events: FineTuneEvents, stop: () => boolean,
): Promise<{ model: ModelFile; history: EpochRecord[] }> {
  const trainSet = subsetImages(samples, fold.train);
  const heldOut = fold.heldOut.length > 0 ? subsetImages(samples, fold.heldOut) : null;
  const samplesFile = opts.samplesFile ?? 'samples';
  const runOptions: TrainOptions = {
    arch: init.arch,
    epochs: s.epochs,
    batchSize: s.batchSize,
    optimizer: s.optimizer,
    lr: s.lr,
    schedule: s.schedule,
    weightDecay: 0,
    seed: s.seed,
    validation: heldOut ? { kind: 'file', file: `${samplesFile} (held out)` } : { kind: 'none' },
    limit: null,
    out: null,
    saveBest: false,
    optimizerState: false,
    threads: s.threads,
    augment: s.augment,
    labelSmoothing: 0,
    ema: 0,
    data: dataFingerprint(samplesFile, trainSet),
    init: { model: init, file: opts.initFile ?? 'the initial model' },
    freeze: s.freeze,
    ...(replay ? { replay: { images: replay, ratio: s.replayRatio, file: opts.replayFile ?? 'replay' } } : {}),
  };
  const result = await train(trainSet, heldOut, runOptions, {
    onBatch: events.onBatch && ((p) => events.onBatch!({ ...p, ...where })),
    onEpochEnd: (r) => events.onEpoch?.({ ...where, epoch: r.epoch, epochs: s.epochs, loss: r.loss, acc: r.acc, heldOutAcc: r.valAcc, seconds: r.seconds }),
    shouldStop: stop,
  });
  if (result.stopped || stop()) throw new FineTuneStopped('fine-tuning stopped');
  return { model: result.model, history: result.history };
}
