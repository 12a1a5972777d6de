import type { Dataset } from '../data/index.js';
import { SpecError, TrainingError, UsageError } from '../errors.js';
import {
  DEFAULT_INPUT, saveModel, type EpochRecord, type InputSpec, type ModelFile, type TrainingRecord,
} from '../model/weights-file.js';
import { createNetwork, formatArch, parseArch } from '../net/index.js';
import type { Sequential } from '../net/sequential.js';
import { Optimizer, optimizerConfig, type OptimizerName } from '../optim/optimizer.js';
import { learningRate, type ScheduleName } from '../optim/schedule.js';
import { mixSeed, Random } from '../random.js';
import { augmentation, range, stratifiedSplit } from './batches.js';
import { GradientStep } from './step.js';
import { DataParallel } from './data-parallel.js';
import { layerSpec } from '../net/sequential.js';
import type { LayerSpec } from '../net/spec.js';
import { evaluate } from './evaluate.js';

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
  validation: { kind: 'split'; fraction: number } | { kind: 'file'; file: string } | { kind: 'none' };
  limit: number | null;
  /** Where the weights go after every epoch. */
  out: string;
  /** Keep the best-validation epoch in `out`; the latest state then goes to `lastPath(out)`. */
  saveBest: boolean;
  /** Write optimizer state (needed for an exact --resume). */
  optimizerState: boolean;
  /** Threads computing each batch (data-parallel); 1 = this thread only. */
  threads: number;
  /** Random rotation, scale and shift of every training image, new each epoch (augment.ts). */
  augment: boolean;
}

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
  onEpochStart?: (epoch: number, batches: number) => void;
  onBatch?: (p: BatchProgress) => void;
  onEpochEnd?: (r: EpochRecord, savedTo: string[]) => void;
  /** Polled after every batch: true finishes the batch, saves a checkpoint and returns. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  stopped: boolean;
  /** The file to --resume from. */
  checkpoint: string;
  history: EpochRecord[];
}

/** Throws unless the architecture builds and ends in one score per digit. */
export function checkArch(arch: string): void {
  checkOutputs(createNetwork(arch), arch);
}

function checkOutputs(net: Sequential, arch: string): void {
  if (net.outputShape[0] !== 10) {
    throw new SpecError(`architecture "${arch}" ends in ${net.outputShape[0]} outputs: the last layer must be dense10, one score per digit`);
  }
}

/** Where the latest (resumable) state goes when `out` keeps the best epoch. */
export function lastPath(out: string): string {
  return out.replace(/(\.json)?$/, '.last.json');
}

/**
 * Mini-batch gradient descent. Every buffer is sized on the first batch and reused:
 * the loop itself allocates nothing. Each epoch's order comes from the seed and the
 * epoch number alone, so a resumed run continues exactly as an uninterrupted one.
 */
export async function train(
  data: Dataset, valData: Dataset | null, opts: TrainOptions, events: TrainEvents = {}, resume?: ModelFile,
): Promise<TrainResult> {
  if (!data.labels) throw new UsageError(`${data.file}: has no label column: training needs labelled images`);
  const input: InputSpec = resume?.input ?? DEFAULT_INPUT;
  const net: Sequential = resume?.net ?? createNetwork(opts.arch, opts.seed);
  const arch = resume?.arch ?? formatArch(parseArch(opts.arch));
  checkOutputs(net, arch);

  // Which rows train and which validate.
  const n = opts.limit !== null ? Math.min(opts.limit, data.n) : data.n;
  let trainIdx = range(n);
  let valIdx: Int32Array | null = null;
  let valSet: Dataset | null = null;
  if (opts.validation.kind === 'split') {
    const split = stratifiedSplit(data.labels, n, opts.validation.fraction, opts.seed);
    trainIdx = split.train;
    valIdx = split.val;
    valSet = data;
  } else if (opts.validation.kind === 'file') {
    if (!valData?.labels) throw new UsageError(`${opts.validation.file}: the validation file has no label column`);
    valSet = valData;
  }
  if (trainIdx.length === 0) throw new UsageError(`${data.file}: no images left to train on`);

  const params = net.params();
  const optimizer = new Optimizer(
    { ...optimizerConfig(opts.optimizer, opts.weightDecay) },
    params,
    resume?.optimizerState && resume.optimizerState.m.length + resume.optimizerState.v.length > 0 ? resume.optimizerState : undefined,
  );
  const history: EpochRecord[] = resume?.training?.history.slice() ?? [];
  let bestAcc = -1;
  let bestEpoch = resume?.training?.bestEpoch;
  for (const r of history) if (r.valAcc !== null && r.valAcc > bestAcc) bestAcc = r.valAcc;
  const position = resume?.training?.position;

  const batchSize = opts.batchSize;
  const batchesPerEpoch = Math.ceil(trainIdx.length / batchSize);
  const totalSteps = batchesPerEpoch * opts.epochs;
  const threads = Math.max(1, Math.min(opts.threads, batchSize));
  const pool = threads > 1
    ? await DataParallel.create(threads, net, specsOf(net), input, opts.seed, data, batchSize, trainIdx.length, opts.augment)
    : null;
  const augment = opts.augment ? augmentation(opts.seed) : null;
  const step = new GradientStep(net, input, pool ? Math.ceil(batchSize / threads) : batchSize);
  const order = pool ? pool.order : new Int32Array(trainIdx.length);
  const checkpointPath = opts.saveBest ? lastPath(opts.out) : opts.out;

  const record = (extra: Partial<TrainingRecord> = {}): TrainingRecord => ({
    epochs: opts.epochs,
    seed: opts.seed,
    batchSize,
    optimizer: { ...optimizer.config, lr: opts.lr },
    schedule: opts.schedule,
    validation: opts.validation,
    augment: opts.augment,
    limit: opts.limit,
    threads,
    history,
    ...(bestEpoch !== undefined ? { bestEpoch } : {}),
    ...extra,
  });
  const model = (training: TrainingRecord): ModelFile => ({ input, arch, net, training, optimizerState: optimizer.state });
  const save = (path: string, training: TrainingRecord) => saveModel(path, model(training), { optimizerState: opts.optimizerState });

  /** Every remaining epoch; returns early (stopped) when asked to stop. */
  const runEpochs = async (): Promise<TrainResult> => {
    let lastYield = performance.now();
    for (let epoch = history.length + 1; epoch <= opts.epochs; epoch++) {
      // The epoch's order depends only on (seed, epoch): resumable without saved RNG state.
      order.set(trainIdx);
      new Random(mixSeed(opts.seed, epoch)).shuffle(order);
      net.random.setState(mixSeed(opts.seed, 1_000_000 + epoch));
      pool?.beginEpoch(epoch);
      if (augment) augment.epoch = epoch;
      let firstBatch = 0;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      if (position && position.epoch === epoch) {
        firstBatch = position.batch;
        lossSum = position.lossSum;
        correct = position.correct;
        seen = position.seen;
        if (position.dropoutState !== undefined) net.random.setState(position.dropoutState);
      }
      events.onEpochStart?.(epoch, batchesPerEpoch);
      const started = performance.now();
      let lr = opts.lr;
      for (let b = firstBatch; b < batchesPerEpoch; b++) {
        const start = b * batchSize;
        const count = Math.min(batchSize, order.length - start);
        const r = pool ? pool.step(step, data, start, count, augment) : step.run(data, order, start, count, count, augment);
        const loss = r.lossSum / count;
        if (!Number.isFinite(loss)) {
          throw new TrainingError(
            `the loss became ${loss} at epoch ${epoch}, batch ${b + 1}: training diverged, the learning rate ${opts.lr} is too high; try --lr ${+(opts.lr / 10).toPrecision(2)} (the last good weights in ${checkpointPath} were kept)`,
          );
        }
        lr = learningRate(opts.schedule, opts.lr, (epoch - 1) * batchesPerEpoch + b, totalSteps);
        optimizer.step(lr);
        lossSum += r.lossSum;
        correct += r.correct;
        seen += count;
        events.onBatch?.({
          epoch, batch: b + 1, batches: batchesPerEpoch, loss: lossSum / seen, acc: correct / seen,
          imagesPerSecond: ((seen - (position?.epoch === epoch ? position.seen : 0)) * 1000) / Math.max(1, performance.now() - started),
        });
        // Let signals and progress output through now and then.
        if (performance.now() - lastYield > 50) {
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        if (events.shouldStop?.() && b + 1 < batchesPerEpoch) {
          await save(checkpointPath, record({ position: { epoch, batch: b + 1, lossSum, correct, seen, dropoutState: net.random.getState() } }));
          return { stopped: true, checkpoint: checkpointPath, history };
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const val = valSet ? evaluate(net, input, valSet, valIdx) : null;
      const entry: EpochRecord = {
        epoch, loss: lossSum / seen, acc: correct / seen,
        valLoss: val ? val.loss : null, valAcc: val ? val.acc : null, seconds, lr,
      };
      history.push(entry);
      const saved = [checkpointPath];
      if (opts.saveBest && val && val.acc > bestAcc) {
        bestAcc = val.acc;
        bestEpoch = epoch;
        await save(opts.out, record());
        saved.push(opts.out);
      }
      await save(checkpointPath, record());
      events.onEpochEnd?.(entry, saved);
      if (events.shouldStop?.()) return { stopped: epoch < opts.epochs, checkpoint: checkpointPath, history };
    }
    return { stopped: false, checkpoint: checkpointPath, history };
  };

  try {
    return await runEpochs();
  } finally {
    await pool?.close();
  }
}

/** The layer specs a network was built from, for building replicas on other threads. */
function specsOf(net: Sequential): LayerSpec[] {
  return net.layers.map((layer) => layerSpec(layer));
}
