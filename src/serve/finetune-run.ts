import type { Images } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';
import { fineTune, FineTuneStopped, type Accuracies, type HeldOut } from '../train/finetune.js';

export type { Accuracies };

/**
 * The one place `kconv serve` calls the fine-tuning library (src/train/finetune.ts), with
 * the page's choices: the user's samples measured by 5-fold cross-validation while they
 * are few (every sample is held out once, and the model served learns from all of them),
 * by a held-out third once there are enough for that third to say something.
 */
export const KFOLD_BELOW = 100;

export interface Progress {
  /** Run r of runs (k-fold: the folds, then the final model). */
  run: number;
  runs: number;
  epoch: number;
  epochs: number;
  /** Running mean loss and accuracy of the epoch so far (the user's and the replayed images). */
  loss: number | null;
  acc: number | null;
}

export interface RunOptions {
  threads?: number;
  epochs?: number;
  initFile: string;
  samplesFile: string;
  replayFile?: string;
  shouldStop: () => boolean;
  onProgress: (p: Progress) => void;
}

export interface RunResult {
  model: ModelFile;
  before: Accuracies;
  after: Accuracies;
  heldOutSamples: number;
  replayValImages: number;
}

export function heldOutFor(n: number): HeldOut {
  return n < KFOLD_BELOW ? { kind: 'kfold', k: 5 } : { kind: 'split', fraction: 1 / 3 };
}

/** The fine-tuned model and its accuracies, or null when it was stopped. */
export async function runFineTune(init: ModelFile, samples: { n: number; pixels: Uint8Array; labels: Uint8Array }, replay: Images | null, opts: RunOptions): Promise<RunResult | null> {
  let runs = 1;
  let epochs = 0;
  try {
    const out = await fineTune(init, { ...samples, ids: null }, {
      replay,
      threads: opts.threads,
      epochs: opts.epochs,
      heldOut: heldOutFor(samples.n),
      initFile: opts.initFile,
      samplesFile: opts.samplesFile,
      replayFile: opts.replayFile,
      events: {
        shouldStop: opts.shouldStop,
        onStart: (info) => {
          runs = info.runs;
          epochs = info.epochs;
          opts.onProgress({ run: 1, runs, epoch: 0, epochs, loss: null, acc: null });
        },
        onBatch: (p) => opts.onProgress({ run: p.run, runs, epoch: p.epoch, epochs, loss: p.loss, acc: p.acc }),
      },
    });
    return { model: out.model, before: out.before, after: out.after, heldOutSamples: out.heldOutSamples, replayValImages: out.replayValImages };
  } catch (error) {
    if (error instanceof FineTuneStopped) return null;
    throw error;
  }
}
