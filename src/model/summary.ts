/**
 * What `kconv info` reports, as data (the CLI formats it; a server can send it as JSON):
 * every layer's token, output shape, parameters and multiply-adds per image, with
 * totals, the input preprocessing and, for a trained model, how it was trained.
 * Computed from the registry's shape and cost rules: nothing is allocated, so any
 * architecture kconv accepts can be summarized at once.
 */
import { augmentSettings, type AugmentSettings } from '../augment/augment.js';
import type { LayerType } from '../layers/registry.js';
import type { ModelFile, TrainingRecord } from './weights-file.js';
import { CLASSES, DEFAULT_INPUT, INPUT_SHAPE, type InputSpec } from '../net/input.js';
import { planNetwork, type LayerPlan } from '../net/plan.js';
import { planSpecs } from '../net/sequential.js';
import { formatArch, formatLayer, parseArch } from '../net/spec.js';

export interface LayerSummary {
  /** 1-based position in the network (an implied flatten counts). */
  index: number;
  /** The layer's --arch token, e.g. conv32k3p1. */
  token: string;
  type: LayerType;
  /** A flatten --arch implies before the first dense layer. */
  implied: boolean;
  outShape: number[];
  /** Learnable parameters, as PyTorch counts them (running statistics are buffers, not counted). */
  params: number;
  /** Multiply-adds per image when predicting: conv F·OH·OW·C·k·k, dense in·out, bn one per value, others 0. */
  macs: number;
}

export interface TrainingSummary {
  epochsDone: number;
  epochsTarget: number;
  /** Set when training stopped inside an epoch: that epoch and the batches done. */
  stoppedAt: { epoch: number; batch: number } | null;
  optimizer: TrainingRecord['optimizer'];
  schedule: string;
  batchSize: number;
  augment: AugmentSettings;
  labelSmoothing: number;
  ema: number;
  seed: number;
  threads: number | null;
  validation: TrainingRecord['validation'];
  limit: number | null;
  lastLoss: number | null;
  lastValAcc: number | null;
  best: { epoch: number; valAcc: number } | null;
  /** The epoch kept in the file by --save-best, if it was used. */
  keptEpoch: number | null;
  /** Seconds spent in training epochs (checkpoints and validation not included). */
  seconds: number;
}

export interface NetSummary {
  arch: string;
  input: InputSpec;
  inputShape: number[];
  classes: number;
  layers: LayerSummary[];
  totals: { params: number; macs: number };
  training: TrainingSummary | null;
}

function summarizePlan(arch: string, input: InputSpec, plan: LayerPlan[], training: TrainingRecord | undefined): NetSummary {
  const layers = plan.map((p, i) => ({
    index: i + 1, token: formatLayer(p.spec), type: p.spec.type, implied: p.implied,
    outShape: [...p.outShape], params: p.cost.params, macs: p.cost.macs,
  }));
  return {
    arch,
    input,
    inputShape: [input.channels, input.height, input.width],
    classes: CLASSES,
    layers,
    totals: { params: layers.reduce((a, l) => a + l.params, 0), macs: layers.reduce((a, l) => a + l.macs, 0) },
    training: training ? summarizeTraining(training) : null,
  };
}

/** An architecture (preset or tokens) as kconv would build it for 1×28×28 input. Throws SpecError. */
export function summarizeArch(arch: string): NetSummary {
  const specs = parseArch(arch);
  return summarizePlan(formatArch(specs), DEFAULT_INPUT, planSpecs(specs, INPUT_SHAPE), undefined);
}

/** A loaded weights file: its layers as saved, its preprocessing and its training record. */
export function summarizeModel(model: ModelFile): NetSummary {
  const { input, net } = model;
  const plan = planNetwork(net.specs(), net.inputShape, { impliedFlatten: false });
  return summarizePlan(model.arch, input, plan, model.training);
}

function summarizeTraining(t: TrainingRecord): TrainingSummary {
  const last = t.history[t.history.length - 1];
  let best: TrainingSummary['best'] = null;
  for (const h of t.history) if (h.valAcc !== null && (best === null || h.valAcc > best.valAcc)) best = { epoch: h.epoch, valAcc: h.valAcc };
  return {
    epochsDone: t.history.length,
    epochsTarget: t.epochs,
    stoppedAt: t.position ? { epoch: t.position.epoch, batch: t.position.batch } : null,
    optimizer: t.optimizer,
    schedule: t.schedule,
    batchSize: t.batchSize,
    augment: augmentSettings(t.augment),
    labelSmoothing: t.labelSmoothing ?? 0,
    ema: t.ema ?? 0,
    seed: t.seed,
    threads: t.threads ?? null,
    validation: t.validation,
    limit: t.limit,
    lastLoss: last ? last.loss : null,
    lastValAcc: last ? last.valAcc : null,
    best,
    keptEpoch: t.bestEpoch ?? null,
    seconds: t.history.reduce((a, h) => a + h.seconds, 0),
  };
}
