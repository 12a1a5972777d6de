import type { Images } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';

/**
 * The one place `kconv serve` calls the fine-tuning library (src/train/finetune.ts).
 * PENDING: the library is not merged yet.
 */
export interface Accuracies {
  user: number | null;
  replay: number | null;
}
export interface Progress {
  epoch: number;
  epochs: number;
  loss: number;
  acc: number;
}
export interface RunOptions {
  threads?: number;
  epochs?: number;
  shouldStop: () => boolean;
  onProgress: (p: Progress) => void;
}

export async function runFineTune(
  _init: ModelFile, _samples: { n: number; pixels: Uint8Array; labels: Uint8Array }, _replay: Images | null, _opts: RunOptions,
): Promise<{ model: ModelFile; before: Accuracies; after: Accuracies } | null> {
  throw new Error('the fine-tuning library is not merged yet');
}
