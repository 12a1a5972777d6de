import type { EpochRecord, TrainingRecord } from '../../src/model/weights-file.js';

/** Three epochs of a made-up training history; epoch 2 without validation. */
export const HISTORY: EpochRecord[] = [
  { epoch: 1, loss: 1.2, acc: 0.61, valLoss: 0.9, valAcc: 0.7, seconds: 1, lr: 0.05 },
  { epoch: 2, loss: 0.6, acc: 0.82, valLoss: null, valAcc: null, seconds: 1, lr: 0.04 },
  { epoch: 3, loss: 0.3, acc: 0.91, valLoss: 0.35, valAcc: 0.89, seconds: 1, lr: 0.02 },
];

/** A weights file's training record (momentum, cosine, a 10% split) with HISTORY. */
export const TRAINING: TrainingRecord = {
  epochs: 3, seed: 1, batchSize: 64,
  optimizer: { name: 'momentum', lr: 0.05, momentum: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  schedule: 'cosine', validation: { kind: 'split', fraction: 0.1 }, augment: false, limit: null, history: HISTORY,
};
