import { single, type Ensemble } from '../model/ensemble.js';
import { historyOf, renderCurves } from '../show/curves.js';
import { encodePng } from '../show/png.js';
import { mapRowJson } from './api.js';
import { Predictor } from './predictor.js';
import { watchModel } from './reload.js';
import { modelSummary } from './summary.js';

/** A model as served: its predictor, its summary for the page, its curves (drawn when first asked for). */
export interface Served {
  ensemble: Ensemble;
  /** The weights file (or what --weights named). */
  file: string;
  predictor: Predictor;
  modelJson: string;
  modelName: string;
  firstFile: string;
  curvesPng(): Buffer | null;
}

export function serving(ensemble: Ensemble, weightsFile: string): Served {
  // Filters, maps and curves are the first model's (an ensemble's probabilities are the mean of all).
  const first = ensemble.members[0];
  const firstFile = ensemble.members.length === 1 ? weightsFile : ensemble.files[0];
  const info = modelSummary(ensemble.members.length === 1 ? first : ensemble, weightsFile);
  let curves: Buffer | null | undefined;
  return {
    ensemble,
    file: weightsFile,
    predictor: new Predictor(ensemble.members),
    modelJson: JSON.stringify({ ...info, filters: info.filters ? mapRowJson(info.filters) : null }),
    modelName: ensemble.members.length === 1 ? first.arch : `${ensemble.members.length} models: ${ensemble.members.map((m) => m.arch).join(' | ')}`,
    firstFile,
    curvesPng() {
      if (curves === undefined) {
        try {
          const history = historyOf(first.training, firstFile);
          curves = encodePng(renderCurves({ history, weightsFile: firstFile, arch: first.arch, bestEpoch: first.training?.bestEpoch }).canvas);
        } catch {
          curves = null;
        }
      }
      return curves;
    },
  };
}

/** The model served now, and the weights file's (they differ once a fine-tuned model is accepted). */
export interface Models {
  current(): Served;
  original(): Served;
  use(served: Served): void;
  /** Stops watching the weights file. */
  close(): void;
}

/**
 * What is served: replaced whole (never changed in place) when the weights file changes
 * (with `watch`, one model only) or the user switches to a fine-tuned model, so a request
 * sees one model from start to end.
 */
export function servedModels(ensemble: Ensemble, weightsFile: string, watch: boolean, log: (line: string) => void): Models {
  let current = serving(ensemble, weightsFile);
  let original = current;
  const watcher = watch && ensemble.members.length === 1
    ? watchModel(weightsFile, {
      log,
      onModel(model) {
        const next = serving(single(model, weightsFile), weightsFile);
        if (current === original) current = next;
        original = next;
      },
    })
    : null;
  return {
    current: () => current,
    original: () => original,
    use(s) {
      current = s;
    },
    close: () => watcher?.close(),
  };
}
