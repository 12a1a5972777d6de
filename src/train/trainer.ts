import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Images } from '../data/index.js';
import { SpecError, TrainingError, UsageError } from '../errors.js';
import { saveModel, type DataFingerprint, type EpochRecord, type ModelFile, type TrainingRecord, type Validation } from '../model/weights-file.js';
import { CLASSES, DEFAULT_INPUT, type InputSpec } from '../net/input.js';
import { createNetwork, formatArch, parseArch } from '../net/index.js';
import { layerSpec, Sequential } from '../net/sequential.js';
import type { LayerSpec } from '../net/spec.js';
import { Optimizer, optimizerConfig, type OptimizerName } from '../optim/optimizer.js';
import { learningRate, type ScheduleName } from '../optim/schedule.js';
import { mixSeed, Random } from '../random.js';
import { Augmenter, isAugmenting, type AugmentSettings } from '../augment/augment.js';
import { range, stratifiedSplit } from '../batch/fill.js';
import { WeightAverage } from '../optim/ema.js';
import { DataParallel } from '../parallel/data-parallel.js';
import { evaluate } from '../batch/evaluate.js';
import { GradientStep } from '../batch/step.js';
import { borrowNetwork, giveBack } from './work-network.js';

export interface TrainOptions {
  arch: string;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  schedule: ScheduleName;
  weightDecay: number;
  seed: number;
  /** Validation: a fraction of the training file, a separate dataset, or none. */
  validation: Validation;
  limit: number | null;
  /** Where the weights go after every epoch; null: nowhere (the run's result holds them, as a library caller wants). */
  out: string | null;
  /** Keep the best-validation epoch in `out`; the latest state then goes to `lastPath(out)`. */
  saveBest: boolean;
  /** Write optimizer state (needed for an exact --resume). */
  optimizerState: boolean;
  /** Threads computing each batch (data-parallel); 1 = this thread only. */
  threads: number;
  /** What augmentation does to every training image, new each epoch (augment.ts). */
  augment: AugmentSettings;
  /** Label smoothing ε of the loss (0: none). */
  labelSmoothing: number;
  /** Decay of the moving average of the weights that is validated and saved (0: none; see optim/ema.ts). */
  ema: number;
  /** What was trained on, recorded in the weights file so that a resume can tell when the data changed. */
  data?: DataFingerprint;
  /** The checkpoint a resumed run started from (for saying what is on disk when training fails). */
  resumedFile?: string;
  /**
   * Start from these weights (fine-tuning): the network, its input spec and its weights
   * come from the model, copied (the model is left as it is); a new run from epoch 1 with
   * a fresh optimizer, not a resume. `file` is recorded in the training record.
   */
  init?: { model: ModelFile; file: string };
  /** Layers with parameters kept fixed, counted from the input (Sequential.freeze); 0 or absent: none. */
  freeze?: number;
  /**
   * Replay: each epoch adds round(ratio × training images) images of `images`, drawn
   * without repeats (unless more are asked for than there are) by (seed, epoch) alone, to
   * the training images, shuffled in with them. `file` names them in the training record.
   */
  replay?: { images: Images; ratio: number; file: string };
}


/** Options of a run that writes its weights to a file (the command line's). */
export type FileTrainOptions = TrainOptions & { out: string };

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** Running mean loss and accuracy over the epoch so far. */
  loss: number;
  acc: number;
  imagesPerSecond: number;
}

export interface TrainEvents {
  /** Once the run is set up (the network built, the images split, the threads started), before the first batch. */
  onStart?: () => void;
  onEpochStart?: (epoch: number, batches: number) => void;
  onBatch?: (p: BatchProgress) => void;
  onEpochEnd?: (r: EpochRecord, savedTo: string[]) => void;
  /** Polled after every batch: true finishes the batch, saves a checkpoint and returns. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  stopped: boolean;
  /** The file to --resume from (null when `out` was null). */
  checkpoint: string | null;
  history: EpochRecord[];
  /** The weights as saved (the moving average with --ema), in a network of their own, with the training record. */
  model: ModelFile;
}

/** Throws unless the architecture builds and ends in one score per digit. */
export function checkArch(arch: string): void {
  checkOutputs(createNetwork(arch), arch);
}

function checkOutputs(net: Sequential, arch: string): void {
  if (net.outputShape[0] !== CLASSES) {
    throw new SpecError(`architecture "${arch}" ends in ${net.outputShape[0]} outputs: the last layer must be dense10, one score per digit`);
  }
}

/** Where the latest (resumable) state goes when `out` keeps the best epoch. */
export function lastPath(out: string): string {
  return out.replace(/(\.json)?$/, '.last.json');
}

/** The fingerprint of training images: what a resume compares to tell whether the data changed. */
export function dataFingerprint(file: string, images: Images): DataFingerprint {
  const h = createHash('sha256').update(`${images.n}\n`).update(images.pixels.subarray(0, images.n * 784));
  if (images.labels) h.update(images.labels.subarray(0, images.n));
  return { file, images: images.n, sha256: h.digest('hex') };
}

/**
 * Mini-batch gradient descent. Every buffer is sized on the first batch and reused:
 * the loop itself allocates nothing. Each epoch's order comes from the seed and the
 * epoch number alone, so a resumed run continues exactly as an uninterrupted one.
 */
export async function train(
  data: Images, valData: Images | null, opts: TrainOptions, events: TrainEvents = {}, resume?: ModelFile,
): Promise<TrainResult> {
  const run = await TrainingRun.start(data, valData, opts, events, resume);
  events.onStart?.();
  try {
    return await run.remainingEpochs();
  } finally {
    await run.close();
  }
}

/** Which rows train and which validate. */
function splitRows(data: Images, valData: Images | null, opts: TrainOptions): { trainIdx: Int32Array; valIdx: Int32Array | null; valSet: Images | null } {
  const name = opts.data?.file ?? 'the training file';
  const n = opts.limit !== null ? Math.min(opts.limit, data.n) : data.n;
  const of = `${n} image${n === 1 ? '' : 's'}${opts.limit !== null && opts.limit < data.n ? ` (--limit ${opts.limit})` : ''}`;
  if (opts.validation.kind === 'split') {
    const { fraction } = opts.validation;
    const split = stratifiedSplit(data.labels!, n, fraction, opts.seed);
    if (split.train.length === 0) {
      throw new UsageError(`--val-split ${fraction} holds out all ${of} of ${name} (the split is per digit, rounded), leaving none to train on; give a smaller --val-split, e.g. 0.1`);
    }
    if (split.val.length === 0) {
      throw new UsageError(`--val-split ${fraction} holds out none of the ${of} of ${name} (the split is per digit, rounded); give a larger --val-split, or --no-val`);
    }
    return { trainIdx: split.train, valIdx: split.val, valSet: data };
  }
  if (n === 0) throw new UsageError(`${name}: no images to train on`);
  if (opts.validation.kind === 'file') {
    if (!valData?.labels) throw new UsageError(`${opts.validation.file}: the validation file has no label column`);
    return { trainIdx: range(n), valIdx: null, valSet: valData };
  }
  return { trainIdx: range(n), valIdx: null, valSet: null };
}

/** One training run: its set-up, then one epoch at a time, each ending in a checkpoint. */
class TrainingRun {
  private readonly history: EpochRecord[];
  private bestAcc = -1;
  private bestEpoch: number | undefined;
  /** The last epoch (and batch, when stopped inside one) this run saved to the checkpoint file. */
  private saved: { epoch: number; batch?: number } | null = null;
  private lastYield = performance.now();
  private readonly batchesPerEpoch: number;
  private readonly totalSteps: number;
  /** The step at which the current learning-rate schedule began. */
  private readonly scheduleFrom: number;
  private readonly checkpointPath: string | null;
  private readonly order: Int32Array;
  /** Replay: how many images each epoch draws, and room to draw them (a permutation of the replay images). */
  private readonly replayCount: number;
  private readonly replayDraw: Int32Array;
  private readonly replayRecord: TrainingRecord['replay'];
  private readonly augment: Augmenter | null;
  /** The moving average of the weights, and room for the live weights while it is lent out. */
  private readonly ema: WeightAverage | null;
  private readonly live: Float32Array[];
  private readonly step: GradientStep;

  private constructor(
    private readonly data: Images,
    private readonly opts: TrainOptions,
    private readonly events: TrainEvents,
    private readonly resume: ModelFile | undefined,
    private readonly input: InputSpec,
    private readonly arch: string,
    private readonly net: Sequential,
    private readonly optimizer: Optimizer,
    private readonly rows: ReturnType<typeof splitRows>,
    private readonly pool: DataParallel | null,
    private readonly threads: number,
  ) {
    const record = resume?.training as TrainingRecord | undefined;
    this.history = record?.history.slice() ?? [];
    this.bestEpoch = record?.bestEpoch;
    for (const r of this.history) if (r.valAcc !== null && r.valAcc > this.bestAcc) this.bestAcc = r.valAcc;
    this.replayCount = replayCount(rows.trainIdx.length, opts);
    this.replayDraw = new Int32Array(opts.replay ? opts.replay.images.n : 0);
    this.replayRecord = opts.replay ? { ...dataFingerprint(opts.replay.file, opts.replay.images), ratio: opts.replay.ratio } : undefined;
    const perEpoch = rows.trainIdx.length + this.replayCount;
    this.batchesPerEpoch = Math.ceil(perEpoch / opts.batchSize);
    this.totalSteps = this.batchesPerEpoch * opts.epochs;
    this.scheduleFrom = scheduleStart(record, opts, this.batchesPerEpoch);
    this.checkpointPath = opts.out === null ? null : opts.saveBest ? lastPath(opts.out) : opts.out;
    this.order = pool ? pool.order : new Int32Array(perEpoch);
    this.augment = isAugmenting(opts.augment) ? new Augmenter(opts.augment, opts.seed) : null;
    this.step = new GradientStep(net, input, pool ? Math.ceil(opts.batchSize / threads) : opts.batchSize, opts.labelSmoothing, opts.seed);
    this.live = opts.ema > 0 ? net.state().map((v) => new Float32Array(v.length)) : [];
    this.ema = opts.ema > 0 ? resumedAverage(net, opts.ema, resume) : null;
  }

  /**
   * Set-up: the network (new, resumed, or copied from `init`), the split, the optimizer
   * (its state kept unless the optimizer changed), what is frozen, the replay images
   * after the training images, and the threads.
   */
  static async start(userData: Images, valData: Images | null, opts: TrainOptions, events: TrainEvents, resume?: ModelFile): Promise<TrainingRun> {
    if (!userData.labels) throw new UsageError(`${opts.data?.file ?? 'the training file'}: has no label column: training needs labelled images`);
    if (opts.out === null && opts.saveBest) throw new UsageError('keeping the best epoch needs a file to keep it in: give an output file');
    if (resume && opts.init) throw new UsageError(`${opts.init.file}: a run starts from a weights file (fine-tuning) or resumes a checkpoint, not both`);
    if (opts.replay && !(opts.replay.ratio > 0 && Number.isFinite(opts.replay.ratio))) throw new UsageError(`replay ratio ${opts.replay.ratio}: must be a number > 0`);
    if (opts.replay && (!opts.replay.images.labels || opts.replay.images.n === 0)) throw new UsageError(`${opts.replay.file}: the replay images must be labelled, and at least one`);
    const base = resume ?? opts.init?.model;
    // A fine-tune trains a copy of its init model, in a network lent for the run (work-network.ts).
    const net: Sequential = resume?.net ?? (opts.init ? borrowNetwork(opts.init.model.net) : createNetwork(opts.arch, opts.seed));
    try {
      return await TrainingRun.build(userData, valData, opts, events, resume, base, net);
    } catch (error) {
      if (opts.init && !resume) giveBack(net);
      throw error;
    }
  }

  private static async build(
    userData: Images, valData: Images | null, opts: TrainOptions, events: TrainEvents, resume: ModelFile | undefined, base: ModelFile | undefined, net: Sequential,
  ): Promise<TrainingRun> {
    const input: InputSpec = base?.input ?? DEFAULT_INPUT;
    const arch = base?.arch ?? formatArch(parseArch(opts.arch));
    checkOutputs(net, arch);
    const frozenParams = opts.freeze ? freezeLayers(net, opts.freeze, arch) : 0;
    const rows = splitRows(userData, valData, opts);
    // Replay images follow the user's: index n + j is replay image j.
    const data = opts.replay ? concatImages(userData, opts.replay.images) : userData;
    const state = resume?.optimizerState;
    const sameOptimizer = resume?.training?.optimizer.name === opts.optimizer;
    const optimizer = new Optimizer(
      optimizerConfig(opts.optimizer, opts.weightDecay),
      net.params(),
      sameOptimizer && state && state.m.length + state.v.length > 0 ? state : undefined,
    );
    optimizer.frozenParams = frozenParams;
    const threads = Math.max(1, Math.min(opts.threads, opts.batchSize));
    const pool = threads > 1
      ? await DataParallel.create(
        threads, net, specsOf(net), input, opts.seed, data, opts.batchSize, rows.trainIdx.length + replayCount(rows.trainIdx.length, opts),
        isAugmenting(opts.augment) ? opts.augment : null, opts.labelSmoothing, opts.freeze ?? 0,
      )
      : null;
    return new TrainingRun(data, opts, events, resume, input, arch, net, optimizer, rows, pool, threads);
  }

  async close(): Promise<void> {
    await this.pool?.close();
    if (this.opts.init && !this.resume) giveBack(this.net);
  }

  /** Every remaining epoch; returns early (stopped) when asked to stop. */
  async remainingEpochs(): Promise<TrainResult> {
    for (let epoch = this.history.length + 1; epoch <= this.opts.epochs; epoch++) {
      const stoppedAt = await this.runEpoch(epoch);
      if (stoppedAt !== null) {
        await this.checkpoint(this.checkpointPath, stoppedAt);
        return this.result(true, stoppedAt);
      }
      const entry = this.history[this.history.length - 1];
      const savedTo = await this.endOfEpoch(entry);
      this.events.onEpochEnd?.(entry, savedTo);
      if (this.events.shouldStop?.()) return this.result(epoch < this.opts.epochs);
    }
    return this.result(false);
  }

  /** The run's result: with the weights as saved, copied out of the run's network. */
  private async result(stopped: boolean, position?: TrainingRecord['position']): Promise<TrainResult> {
    const net = await this.withSavedWeights(() => copyNetwork(this.net));
    const model: ModelFile = { input: this.input, arch: this.arch, net, training: this.record(position) };
    return { stopped, checkpoint: this.checkpointPath, history: this.history, model };
  }

  /**
   * One epoch of batches, from where a resumed run stopped when it stopped inside this
   * epoch. Returns null when it ran to the end (its record is in the history), or the
   * position to save when asked to stop part way.
   */
  private async runEpoch(epoch: number): Promise<NonNullable<TrainingRecord['position']> | null> {
    const { opts, net, pool, order, batchesPerEpoch } = this;
    const batchSize = opts.batchSize;
    // The epoch's order depends only on (seed, epoch): resumable without saved RNG state.
    order.set(this.rows.trainIdx);
    this.drawReplay(epoch, order, this.rows.trainIdx.length);
    new Random(mixSeed(opts.seed, epoch)).shuffle(order);
    pool?.beginEpoch(epoch);
    if (this.augment) this.augment.epoch = epoch;
    const position = this.resume?.training?.position?.epoch === epoch ? this.resume.training.position : undefined;
    const firstBatch = position?.batch ?? 0;
    let lossSum = position?.lossSum ?? 0;
    let correct = position?.correct ?? 0;
    let seen = position?.seen ?? 0;
    this.events.onEpochStart?.(epoch, batchesPerEpoch);
    const started = performance.now();
    let lr = opts.lr;
    for (let b = firstBatch; b < batchesPerEpoch; b++) {
      const start = b * batchSize;
      const count = Math.min(batchSize, order.length - start);
      // The step counts batches of this run's size: a resumed run goes on with the same count, and the same dropout masks.
      const t = (epoch - 1) * batchesPerEpoch + b;
      const r = pool ? pool.step(this.step, this.data, start, count, this.augment, t) : this.step.run(this.data, order, start, count, count, this.augment, t);
      const loss = r.lossSum / count;
      if (!Number.isFinite(loss)) throw this.diverged(`the loss became ${loss} at epoch ${epoch}, batch ${b + 1}`);
      lr = learningRate(opts.schedule, opts.lr, t - this.scheduleFrom, this.totalSteps - this.scheduleFrom);
      this.optimizer.step(lr);
      this.ema?.update();
      lossSum += r.lossSum;
      correct += r.correct;
      seen += count;
      this.events.onBatch?.({
        epoch, batch: b + 1, batches: batchesPerEpoch, loss: lossSum / seen, acc: correct / seen,
        imagesPerSecond: ((seen - (position?.seen ?? 0)) * 1000) / Math.max(1, performance.now() - started),
      });
      await this.letEventsThrough();
      if (this.events.shouldStop?.() && b + 1 < batchesPerEpoch) {
        return { epoch, batch: b + 1, lossSum, correct, seen };
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const { valSet, valIdx } = this.rows;
    const val = valSet ? await this.withSavedWeights(() => evaluate(net, this.input, valSet, valIdx)) : null;
    this.history.push({ epoch, loss: lossSum / seen, acc: correct / seen, valLoss: val ? val.loss : null, valAcc: val ? val.acc : null, seconds, lr });
    return null;
  }

  /**
   * The epoch's replay images into order[at ..]: the first replayCount of a permutation of
   * them drawn from (seed, epoch) alone (cycling through it when more are asked for than
   * there are), as indices after the training images.
   */
  private drawReplay(epoch: number, order: Int32Array, at: number): void {
    const draw = this.replayDraw;
    if (this.replayCount === 0) return;
    for (let j = 0; j < draw.length; j++) draw[j] = j;
    new Random(mixSeed(this.opts.seed, 2_000_000 + epoch)).shuffle(draw);
    const n = this.data.n - draw.length;
    for (let j = 0; j < this.replayCount; j++) order[at + j] = n + draw[j % draw.length];
  }

  /** The epoch's checkpoint, and with --save-best the best epoch's weights; returns the files written. */
  private async endOfEpoch(entry: EpochRecord): Promise<string[]> {
    if (this.checkpointPath === null) return [];
    const savedTo = [this.checkpointPath];
    if (this.opts.saveBest && entry.valAcc !== null && entry.valAcc > this.bestAcc) {
      this.bestAcc = entry.valAcc;
      this.bestEpoch = entry.epoch;
      await this.checkpoint(this.opts.out!);
      savedTo.push(this.opts.out!);
    }
    await this.checkpoint(this.checkpointPath);
    return savedTo;
  }

  /** Writes the weights file (none when null), after checking that every number in it is finite. */
  private async checkpoint(path: string | null, position?: TrainingRecord['position']): Promise<void> {
    const epoch = position?.epoch ?? this.history.length;
    const bad = firstNonFinite(this.net, this.optimizer);
    if (bad) throw this.diverged(`${bad} at epoch ${epoch} though the loss was still finite`);
    if (path === null) return;
    await this.withSavedWeights(async () => {
      const optimizerState = this.ema ? { ...this.optimizer.state, live: this.live, emaUpdates: this.ema.updates } : this.optimizer.state;
      const model: ModelFile = { input: this.input, arch: this.arch, net: this.net, training: this.record(position), optimizerState };
      await saveModel(path, model, { optimizerState: this.opts.optimizerState });
    });
    if (path === this.checkpointPath) this.saved = position ? { epoch, batch: position.batch } : { epoch };
  }

  /**
   * Runs `use` with the network holding the weights that are validated and saved: the
   * moving average when there is one (the live weights wait in `live`), else the live ones.
   */
  private withSavedWeights<T>(use: () => T | Promise<T>): Promise<T> {
    return this.ema ? this.ema.withAverages(this.live, use) : Promise.resolve().then(use);
  }

  private record(position?: TrainingRecord['position']): TrainingRecord {
    const { opts } = this;
    return {
      epochs: opts.epochs,
      seed: opts.seed,
      batchSize: opts.batchSize,
      optimizer: { ...this.optimizer.config, lr: opts.lr },
      schedule: opts.schedule,
      ...(this.scheduleFrom > 0 ? { scheduleFrom: this.scheduleFrom } : {}),
      validation: opts.validation,
      // Affine-only or no augmentation is written as before (true or false).
      augment: isAugmenting({ ...opts.augment, affine: false }) ? opts.augment : opts.augment.affine,
      ...(opts.labelSmoothing > 0 ? { labelSmoothing: opts.labelSmoothing } : {}),
      ...(opts.ema > 0 ? { ema: opts.ema } : {}),
      limit: opts.limit,
      threads: this.threads,
      ...(opts.data ? { data: opts.data } : {}),
      // A resumed fine-tune still says what it started from.
      ...(opts.init ? { init: { file: opts.init.file } } : this.resume?.training?.init ? { init: this.resume.training.init } : {}),
      ...(opts.freeze ? { freeze: opts.freeze } : {}),
      ...(this.replayRecord ? { replay: this.replayRecord } : {}),
      history: this.history,
      ...(this.bestEpoch !== undefined ? { bestEpoch: this.bestEpoch } : {}),
      ...(position ? { position } : {}),
    };
  }

  /** Training diverged: the advice, and what is on disk now, said as it is. */
  private diverged(what: string): TrainingError {
    const { opts } = this;
    const lower = +(opts.lr / 10).toPrecision(2);
    return new TrainingError(`${what}: training diverged, the learning rate ${opts.lr} is too high; try --lr ${lower} (${this.whatIsKept()})`);
  }

  private whatIsKept(): string {
    const path = this.checkpointPath;
    if (path === null) return 'nothing was saved';
    const best = this.opts.saveBest && this.bestEpoch !== undefined && existsSync(this.opts.out!) ? `; ${this.opts.out} holds the best epoch, ${this.bestEpoch}` : '';
    if (this.saved) {
      const at = this.saved.batch !== undefined ? `epoch ${this.saved.epoch}, batch ${this.saved.batch}` : `epoch ${this.saved.epoch}`;
      return `${path} holds the last good weights, from ${at}${best}`;
    }
    const resumedFrom = this.resume?.training?.history.length;
    if (this.resume && resumedFrom !== undefined && this.opts.resumedFile === path) {
      return `${path} still holds the checkpoint this run resumed from, after epoch ${resumedFrom}${best}`;
    }
    return existsSync(path) ? `nothing was saved; ${path} is as it was before this run${best}` : `nothing was saved${best}`;
  }

  /** Lets signals and progress output through now and then. */
  private async letEventsThrough(): Promise<void> {
    if (performance.now() - this.lastYield > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      this.lastYield = performance.now();
    }
  }
}

/**
 * The step at which the learning-rate schedule runs from. A resume that keeps the rate,
 * the schedule and the optimizer continues the schedule it was on (so an interrupted
 * run and an uninterrupted one are the same); one that changes any of them starts the
 * new schedule afresh where it resumes, over the steps left to the target.
 */
function scheduleStart(record: TrainingRecord | undefined, opts: TrainOptions, batchesPerEpoch: number): number {
  if (!record) return 0;
  const kept = record.optimizer.lr === opts.lr && record.schedule === opts.schedule && record.optimizer.name === opts.optimizer;
  if (kept) return record.scheduleFrom ?? 0;
  return record.history.length * batchesPerEpoch + (record.position?.batch ?? 0);
}

/** What is not finite in the parameters or the optimizer state, said in a few words; null when all is. */
/**
 * The moving average at the start of a run: the weights as they are; or, resumed from a
 * checkpoint that holds the average, that average, with the live weights it saved put
 * back into the network (without them, training goes on from the average).
 */
function resumedAverage(net: Sequential, decay: number, resume: ModelFile | undefined): WeightAverage {
  const state = net.state();
  const saved = resume?.optimizerState;
  if (!resume?.training?.ema) return new WeightAverage(decay, state);
  const average = new WeightAverage(decay, state, { updates: saved?.emaUpdates ?? 0, averages: state });
  if (saved?.live) state.forEach((v, k) => v.set(saved.live![k]));
  return average;
}

function firstNonFinite(net: Sequential, optimizer: Optimizer): string | null {
  const check = (arrays: Float32Array[], what: string): string | null => {
    for (const a of arrays) {
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i])) return `the ${what} became ${a[i]}`;
      }
    }
    return null;
  };
  return check(net.params().map((p) => p.value), 'weights') ?? check([...optimizer.state.m, ...optimizer.state.v], 'optimizer state');
}

/** Replay images drawn each epoch: round(ratio × training images), none without replay. */
function replayCount(trainImages: number, opts: TrainOptions): number {
  return opts.replay ? Math.round(opts.replay.ratio * trainImages) : 0;
}

/** A network of its own with the same layers, weights and running statistics. */
export function copyNetwork(net: Sequential): Sequential {
  const copy = new Sequential(net.specs(), net.inputShape);
  const to = copy.state();
  net.state().forEach((v, k) => to[k].set(v));
  return copy;
}

/** Sequential.freeze, its range error said for people. */
function freezeLayers(net: Sequential, count: number, arch: string): number {
  const withParams = net.layers.filter((l) => l.params().length > 0).length;
  if (!Number.isInteger(count) || count < 0 || count >= withParams) {
    throw new UsageError(`freeze ${count}: the network ${arch} has ${withParams} layers with parameters, and at least the last must learn; freeze 0 to ${withParams - 1} of them`);
  }
  return net.freeze(count);
}

/** The images of `a`, then those of `b`, as one labelled set. */
function concatImages(a: Images, b: Images): Images {
  const pixels = new Uint8Array((a.n + b.n) * 784);
  pixels.set(a.pixels.subarray(0, a.n * 784));
  pixels.set(b.pixels.subarray(0, b.n * 784), a.n * 784);
  const labels = new Uint8Array(a.n + b.n);
  labels.set(a.labels!.subarray(0, a.n));
  labels.set(b.labels!.subarray(0, b.n), a.n);
  return { n: a.n + b.n, pixels, labels, ids: null };
}

/** The layer specs a network was built from, for building replicas on other threads. */
function specsOf(net: Sequential): LayerSpec[] {
  return net.layers.map((layer) => layerSpec(layer));
}
