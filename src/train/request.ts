/**
 * What a user asks of `kconv train`, as given (the command line's options), and the
 * options of a new run made from it: the recipe's, with the options the user typed
 * winning. The rules of a resumed run are in resume.ts, of a fine-tune in init.ts, of
 * an ensemble in ensemble.ts; plan.ts picks among them.
 */
import { UsageError } from '../errors.js';
import { formatArch, parseArch } from '../net/spec.js';
import { DEFAULT_LR, type OptimizerName } from '../optim/optimizer.js';
import type { ScheduleName } from '../optim/schedule.js';
import { NO_AUGMENTATION } from '../augment/augment.js';
import { RECIPES, type Recipe } from './recipes.js';
import { checkArch, type FileTrainOptions } from './trainer.js';

/** A training run as asked for; undefined: not given (the recipe's, the checkpoint's or the default). */
export interface TrainRequest {
  recipe: string;
  arch?: string;
  epochs?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  lr?: number;
  lrSchedule?: ScheduleName;
  weightDecay?: number;
  /** false: no augmentation at all, even where the recipe has it. */
  augment?: boolean;
  elastic?: number;
  stroke?: number;
  contrast?: number;
  erase?: number;
  labelSmoothing?: number;
  ema?: number;
  /** A validation file, or false for none. */
  val?: string | false;
  valSplit: number;
  seed: number;
  out: string;
  resume?: string;
  limit?: number;
  saveBest?: boolean;
  optimizerState: boolean;
  ensemble?: number;
  init?: string;
  freeze?: number;
  replay?: string;
  replayRatio?: number;
}

/** Whether the user typed an option (rather than getting its default): a resume refuses a typed option that would change the run. */
export type Typed = (option: keyof TrainRequest) => boolean;

/** A new run's options: the recipe's, with the options typed winning. */
export function freshOptions(request: TrainRequest, recipe: Recipe = RECIPES[request.recipe]): FileTrainOptions {
  const optimizer = request.optimizer ?? recipe.optimizer;
  const opts: FileTrainOptions = {
    arch: request.arch ?? recipe.arch,
    epochs: request.epochs ?? recipe.epochs,
    batchSize: request.batchSize ?? recipe.batchSize,
    optimizer,
    lr: request.lr ?? (request.optimizer && request.optimizer !== recipe.optimizer ? DEFAULT_LR[optimizer] : recipe.lr),
    schedule: request.lrSchedule ?? recipe.schedule,
    weightDecay: request.weightDecay ?? recipe.weightDecay,
    augment: request.augment === false ? NO_AUGMENTATION : {
      affine: request.augment ?? recipe.augment.affine,
      elastic: request.elastic ?? recipe.augment.elastic,
      stroke: request.stroke ?? recipe.augment.stroke,
      contrast: request.contrast ?? recipe.augment.contrast,
      erase: request.erase ?? recipe.augment.erase,
    },
    labelSmoothing: request.labelSmoothing ?? recipe.labelSmoothing,
    ema: request.ema ?? recipe.ema,
    seed: request.seed,
    validation: validationOf(request),
    limit: request.limit ?? null,
    out: request.out,
    saveBest: Boolean(request.saveBest),
    optimizerState: request.optimizerState,
    threads: 1,
  };
  checkSaveBest(opts, request.val === false ? 'with --no-val there is none' : 'with --val-split 0 no images are held out for it');
  checkArch(opts.arch);
  return opts;
}

export function validationOf(request: Pick<TrainRequest, 'val' | 'valSplit'>): FileTrainOptions['validation'] {
  if (request.val === false || (request.val === undefined && request.valSplit === 0)) return { kind: 'none' };
  return typeof request.val === 'string' ? { kind: 'file', file: request.val } : { kind: 'split', fraction: request.valSplit };
}

/** --save-best needs a validation accuracy to pick the best epoch by. */
export function checkSaveBest(opts: FileTrainOptions, noValidation: string): void {
  if (!opts.saveBest || opts.validation.kind !== 'none') return;
  throw new UsageError(`--save-best keeps the epoch with the best validation accuracy, but ${noValidation}; give --val file.csv or --val-split F (F > 0)`);
}

/** The same network, however spelt (a preset or its layers); false when either does not parse. */
export function sameArch(a: string, b: string): boolean {
  try {
    return formatArch(parseArch(a)) === formatArch(parseArch(b));
  } catch {
    return false;
  }
}
