import { PIXELS, type Images } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';
import { CLASSES } from '../net/input.js';
import { activations, convLayers } from '../show/activations.js';
import { mapRows, type MapRow } from '../show/digit-view.js';
import { absMax, short } from '../show/layout.js';
import { argMax } from '../tensor/tensor.js';
import { ensembleMean } from '../predict/ensemble-mean.js';
import { predictionNet } from '../predict/predict.js';
import { forEachPrediction } from '../batch/evaluate.js';

/** Images per forward pass: the layers size their buffers for this once, and keep them. */
export const CHUNK = 64;

export interface Prediction {
  label: number;
  /** The 10 softmax probabilities. */
  probs: Float32Array;
}

export interface Explained extends Prediction {
  /** Every map row `kconv show` draws for this image but the filters (those are the model's, see summary.ts). */
  maps: MapRow[];
}

/**
 * The model (or an ensemble's models) loaded once, for a long-running server: forward
 * passes of up to CHUNK images, through the same batches and the same network as `kconv
 * predict` (batch norm folded: bit for bit the same probabilities), whose buffers are sized on the first requests and then reused: no
 * request grows the kernel memory. An ensemble's probabilities are the mean of its
 * models' (as `kconv predict` computes it); the feature maps are its first model's.
 */
export class Predictor {
  readonly members: readonly ModelFile[];

  constructor(models: ModelFile | readonly ModelFile[]) {
    this.members = Array.isArray(models) ? (models as readonly ModelFile[]) : [models as ModelFile];
    if (this.members.length === 0) throw new RangeError('a Predictor needs at least one model');
    // Warm up at both ends of the range, so the layers size their buffers now, not under load.
    this.predict(new Uint8Array(CHUNK * PIXELS), CHUNK);
    this.predict(new Uint8Array(PIXELS), 1);
  }

  /** The model whose feature maps and filters are shown: an ensemble's first. */
  get model(): ModelFile {
    return this.members[0];
  }

  /** Labels and probabilities of n images (n×784 bytes, 0 background … 255 ink). */
  predict(pixels: Uint8Array, n: number): { labels: Uint8Array; probs: Float32Array } {
    const images: Images = { n, pixels: pixels.subarray(0, n * PIXELS), labels: null, ids: null };
    // Each model's probabilities, then their mean as `kconv predict` takes it (ensemble-mean.ts).
    const probs = ensembleMean(this.members.map(({ net, input }) => {
      const p = new Float32Array(n * CLASSES);
      forEachPrediction(predictionNet(net), input, images, null, (start, count, out) => p.set(out.subarray(0, count * CLASSES), start * CLASSES), CHUNK);
      return p;
    }));
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) labels[i] = argMax(probs, i * CLASSES, CLASSES);
    return { labels, probs };
  }

  /**
   * One image's prediction and its feature maps: the rows `kconv show` draws (but the
   * filters), and, where it shows a deeper conv layer only after its ReLU, that layer's
   * raw output too, so that every conv layer is seen before and after ReLU.
   */
  explain(pixels: Uint8Array): Explained {
    const { net, input } = this.model;
    const acts = activations(net, input, pixels);
    const rows = mapRows(net, acts).filter((r) => r.kind !== 'filters');
    convLayers(net).forEach(({ index }, stage) => {
      const title = `conv${stage + 1} output`;
      const at = rows.findIndex((r) => r.stage === stage);
      if (at < 0 || rows.some((r) => r.stage === stage && r.title === title)) return;
      const out = acts.outputs[index];
      const [c, h, w] = out.shape;
      const m = absMax(out.data);
      rows.splice(at, 0, { title, detail: `${c}×${h}×${w}, ±${short(m)}`, kind: 'signed', channels: c, height: h, width: w, data: out.data, scaleMax: m, stage });
    });
    // The probabilities /api/predict gives without maps (batch norm folded), not the maps' network's own (1e-7 apart).
    const { labels, probs } = this.predict(pixels, 1);
    return { label: labels[0], probs, maps: rows };
  }

}
