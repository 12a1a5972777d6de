import { PIXELS, type Images } from '../data/index.js';
import { allocF32 } from '../kernels/memory.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import type { ModelFile } from '../model/weights-file.js';
import { activations, convLayers } from '../show/activations.js';
import { mapRows, type MapRow } from '../show/digit-view.js';
import { absMax, short } from '../show/layout.js';
import { fillBatch } from '../train/batches.js';

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

const argmax = (p: ArrayLike<number>, o: number) => {
  let arg = 0;
  for (let k = 1; k < 10; k++) if (p[o + k] > p[o + arg]) arg = k;
  return arg;
};

/**
 * The model loaded once, for a long-running server: forward passes of up to CHUNK images
 * through buffers allocated at start, so that no request allocates kernel memory (the
 * kernel arena never frees, so a per-request buffer would grow the process for ever).
 * The input is filled by training's fillBatch: bit for bit the numbers `kconv predict` feeds.
 */
export class Predictor {
  private readonly x: Float32Array;
  private readonly views = new Map<number, Float32Array>();
  private readonly order = new Int32Array(CHUNK);
  private readonly softmax = new SoftmaxCrossEntropy(10);

  constructor(readonly model: ModelFile) {
    this.x = allocF32(CHUNK * PIXELS);
    // Warm up at both ends of the range, so the layers size their buffers now, not under load.
    this.predict(new Uint8Array(CHUNK * PIXELS), CHUNK);
    this.predict(new Uint8Array(PIXELS), 1);
  }

  /** Labels and probabilities of n images (n×784 bytes, 0 background … 255 ink). */
  predict(pixels: Uint8Array, n: number): { labels: Uint8Array; probs: Float32Array } {
    const { net, input } = this.model;
    const probs = new Float32Array(n * 10);
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const chunk: Images = { n: count, pixels: pixels.subarray(start * PIXELS, (start + count) * PIXELS), labels: null, ids: null };
      for (let i = 0; i < count; i++) this.order[i] = i;
      const xs = this.view(count);
      fillBatch(chunk, this.order, 0, count, input, xs, null);
      const logits = net.forward({ data: xs, shape: [count, ...net.inputShape] }, false);
      probs.set(this.softmax.softmax(logits).data.subarray(0, count * 10), start * 10);
    }
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) labels[i] = argmax(probs, i * 10);
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
    return { label: acts.predicted, probs: acts.probs, maps: rows };
  }

  private view(count: number): Float32Array {
    let v = this.views.get(count);
    if (!v) {
      v = count === CHUNK ? this.x : this.x.subarray(0, count * PIXELS);
      this.views.set(count, v);
    }
    return v;
  }
}
