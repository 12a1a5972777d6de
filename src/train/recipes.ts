import type { OptimizerName } from '../optim/optimizer.js';
import type { ScheduleName } from '../optim/schedule.js';

/** A named bundle of training choices; explicit command-line options override any of them. */
export interface Recipe {
  arch: string;
  optimizer: OptimizerName;
  lr: number;
  schedule: ScheduleName;
  epochs: number;
  batchSize: number;
  augment: boolean;
  weightDecay: number;
}

export const RECIPES: Readonly<Record<string, Recipe>> = {
  /** kconv's plain recipe: the default net, SGD with momentum, 5 epochs. */
  default: { arch: 'default', optimizer: 'momentum', lr: 0.05, schedule: 'cosine', epochs: 5, batchSize: 64, augment: false, weightDecay: 0 },
  /** The default net with augmentation and one-cycle Adam: more accurate, 4× the epochs. */
  augmented: { arch: 'default', optimizer: 'adam', lr: 0.003, schedule: 'onecycle', epochs: 20, batchSize: 64, augment: true, weightDecay: 0 },
  /** The wide net with dropout, augmentation and one-cycle Adam: the most accurate. */
  best: { arch: 'wide', optimizer: 'adam', lr: 0.003, schedule: 'onecycle', epochs: 12, batchSize: 64, augment: true, weightDecay: 0 },
};
