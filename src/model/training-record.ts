/**
 * The training record a weights file keeps beside the weights: everything needed to
 * continue training exactly where it stopped, and its schema. It lives beside the file
 * format that stores it (train/ writes it, but model/ reads it, and model/ must not
 * import train/). A resume trusts every field, so each is checked when the file is read.
 */
import { MAX_ELASTIC, type AugmentSettings } from '../augment/augment.js';
import { OPTIMIZERS, type OptimizerConfig } from '../optim/optimizer.js';
import { SCHEDULES, type ScheduleName } from '../optim/schedule.js';
import { arrayOf, bool, describe, int, isObject, num, object, oneOf, optional, orNull, own, str, type Fail, type Reader } from './json-reader.js';

export interface EpochRecord {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  seconds: number;
  lr: number;
}

/** The training images as recorded in the weights file: name, count and a hash of their content. */
export interface DataFingerprint {
  file: string;
  images: number;
  /** sha256 of the pixels and labels as read (the same for a CSV, its .gz or its idx files). */
  sha256: string;
}

/** Where the validation images came from. */
export type Validation = { kind: 'split'; fraction: number } | { kind: 'file'; file: string } | { kind: 'none' };

/** Everything needed to continue training exactly where it stopped. */
export interface TrainingRecord {
  /** Target number of epochs. */
  epochs: number;
  seed: number;
  batchSize: number;
  optimizer: OptimizerConfig & { lr: number };
  schedule: ScheduleName;
  /** The step at which the current learning-rate schedule began, when a resume changed the rate, schedule or optimizer. */
  scheduleFrom?: number;
  validation: Validation;
  /** true/false: the affine augmentation or none; an object when more parts are on (augment/augment.ts). */
  augment: boolean | AugmentSettings;
  /** The loss's label smoothing ε, when not 0. */
  labelSmoothing?: number;
  /** The decay of the weights' moving average (the file's weights are that average), when one was kept. */
  ema?: number;
  limit: number | null;
  threads?: number;
  /** What was trained on, so that a resume can tell when the data changed. */
  data?: DataFingerprint;
  /** Fine-tuned: the weights file the run started from (kconv train --init). */
  init?: { file: string };
  /** Fine-tuned with the first `freeze` layers that have parameters kept fixed. */
  freeze?: number;
  /** Fine-tuned with replay: the images mixed in (ratio per training image each epoch). */
  replay?: DataFingerprint & { ratio: number };
  history: EpochRecord[];
  /** Set when training stopped inside an epoch: where to pick up. */
  position?: { epoch: number; batch: number; lossSum: number; correct: number; seen: number; dropoutState?: number };
  /** Index of the best epoch's record when --save-best kept it, else absent. */
  bestEpoch?: number;
}

// ---- the schema, in the order kconv writes the fields --------------------------------

const fromZeroBelowOne = num((v) => v >= 0 && v < 1, 'a number from 0 to below 1');
const positive = num((v) => v > 0, 'a number > 0');
const nonNegative = num((v) => v >= 0, 'a number ≥ 0');
const unit = num((v) => v >= 0 && v <= 1, 'a number from 0 to 1');
const aboveZeroBelowOne = num((v) => v > 0 && v < 1, 'a number above 0 and below 1');
const finite = num(() => true, 'a finite number');
const fileName = (v: string) => v.length <= 4096;

const OPTIMIZER = object({
  name: oneOf(OPTIMIZERS),
  momentum: fromZeroBelowOne,
  beta2: fromZeroBelowOne,
  eps: positive,
  weightDecay: nonNegative,
  lr: positive,
});

const VALIDATION: Reader<Validation> = Object.assign((raw: unknown, path: string, fail: Fail): Validation => {
  if (isObject(raw)) {
    const kind = own(raw, 'kind');
    const fraction = own(raw, 'fraction');
    const file = own(raw, 'file');
    if (kind === 'split' && typeof fraction === 'number' && fraction >= 0 && fraction < 1) return { kind, fraction };
    if (kind === 'file' && typeof file === 'string' && file !== '') return { kind, file };
    if (kind === 'none') return { kind };
  }
  return fail(`${path} must be {"kind": "split", "fraction": F}, {"kind": "file", "file": "…"} or {"kind": "none"}`);
}, { what: 'a validation' });

const AUGMENT_SETTINGS = object({
  affine: bool,
  elastic: num((v) => v >= 0 && v <= MAX_ELASTIC, `a number from 0 to ${MAX_ELASTIC}`),
  stroke: unit,
  contrast: unit,
  erase: unit,
});

/** true, false (or absent: files from before augmentation), or the settings of each part. */
const AUGMENT: Reader<boolean | AugmentSettings> = Object.assign((raw: unknown, path: string, fail: Fail) => {
  if (isObject(raw)) return AUGMENT_SETTINGS(raw, path, fail);
  if (raw === undefined || typeof raw === 'boolean') return raw === true;
  return fail(`${path} must be true, false or the augmentation's settings, got ${describe(raw)}`);
}, { what: "true, false or the augmentation's settings" });

const FINGERPRINT = {
  file: str(fileName, 'a file name'),
  images: int(1),
  sha256: str((v) => /^[0-9a-f]{64}$/.test(v), '64 hex digits'),
};

const EPOCH = {
  loss: finite,
  acc: unit,
  valLoss: orNull(finite),
  valAcc: orNull(unit),
  seconds: nonNegative,
  lr: nonNegative,
};
/** Record i of the history is epoch i + 1. */
const epochRecord = (i: number) => object({ epoch: int(i + 1, i + 1), ...EPOCH }, 'an epoch record (an object)');

const TRAINING = object({
  epochs: int(1),
  seed: int(0),
  batchSize: int(1, 0x7fffffff),
  optimizer: OPTIMIZER,
  schedule: oneOf(SCHEDULES),
  scheduleFrom: optional(int(1)),
  validation: VALIDATION,
  augment: AUGMENT,
  labelSmoothing: optional(aboveZeroBelowOne),
  ema: optional(aboveZeroBelowOne),
  limit: orNull(int(1)),
  threads: optional(int(1, 4096)),
  data: optional(object(FINGERPRINT)),
  init: optional(object({ file: str((v) => v !== '' && fileName(v), 'a file name') })),
  freeze: optional(int(1, 4096)),
  replay: optional(object({ ...FINGERPRINT, ratio: num((v) => v > 0 && v <= 1000, 'a number above 0, at most 1000') })),
  history: arrayOf(epochRecord, 'an array of epoch records'),
});

/**
 * The training record, checked field by field, and rebuilt in the order kconv writes it,
 * so a file read and written again is unchanged. Absent: undefined.
 */
export function readTraining(raw: unknown, fail: Fail): TrainingRecord | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail(`"training" must be an object, got ${describe(raw)}`);
  const record: TrainingRecord = TRAINING(raw, 'training', fail);
  const done = record.history.length;
  if (done > record.epochs) fail(`training.history has ${done} epochs, more than training.epochs (${record.epochs})`);
  const bestEpoch = optional(int(1, Math.max(1, done)))(own(raw, 'bestEpoch'), 'training.bestEpoch', fail);
  if (bestEpoch !== undefined) record.bestEpoch = bestEpoch;
  const position = own(raw, 'position');
  if (position !== undefined) record.position = readPosition(position, done, record.epochs, fail);
  return record;
}

/** Where an interrupted epoch stopped: the epoch after the history, with its counts so far. */
function readPosition(raw: unknown, done: number, epochs: number, fail: Fail): NonNullable<TrainingRecord['position']> {
  const path = 'training.position';
  if (!isObject(raw)) return fail(`${path} must be an object`);
  const epoch = done + 1;
  if (epoch > epochs) fail(`${path} is set but every epoch is done`);
  if (own(raw, 'epoch') !== epoch) fail(`${path}.epoch must be ${epoch} (the epoch after the history), got ${describe(own(raw, 'epoch'))}`);
  const seen = int(0)(own(raw, 'seen'), `${path}.seen`, fail);
  const counts = object({
    batch: int(1),
    lossSum: nonNegative,
    correct: int(0, seen),
    seen: int(0),
    dropoutState: optional(int(-0x80000000, 0xffffffff)),
  });
  return { epoch, ...counts(raw, path, fail) };
}
