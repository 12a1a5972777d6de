import type { Layer } from '../layers/layer.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import type { Sequential } from '../net/sequential.js';
import { Random } from '../random.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';

/** One gradient compared: the worst error over the coordinates checked. */
export interface GradResult {
  /** What was differentiated, e.g. "input" or "weight". */
  readonly of: string;
  /** Worst |analytic − numeric| / max(|analytic|, |numeric|, largest/10) over the coordinates checked. */
  readonly error: number;
  readonly coordinates: number;
  /**
   * Coordinates left out of a whole-net check because the step crossed a ReLU or
   * pooling kink somewhere downstream (its one-sided slopes disagree).
   */
  readonly kinks: number;
}

export interface GradCheckOptions {
  batch?: number;
  seed?: number;
  /** Finite-difference step. Layers here are linear or piecewise linear in each input, so a large step is exact away from kinks. */
  step?: number;
  /** Check at most this many coordinates per array (evenly spread). */
  maxCoordinates?: number;
  /** The input batch; random values kept away from ReLU's kink by default. */
  input?: Tensor;
}

/**
 * Central differences: nudge one value up and down, evaluate the loss, compare the
 * slope with what backward computed. The loss is L = Σ y·r for a fixed random r, so
 * dL/dy = r and every coordinate of every gradient is exercised. L is summed in
 * float64 and the step actually taken after float32 rounding is the divisor, so float
 * rounding barely moves the numeric side; the error is measured relative to the
 * largest gradient value, which is what a scaled or mis-indexed gradient disturbs.
 */
export function gradCheckLayer(layer: Layer, opts: GradCheckOptions = {}): GradResult[] {
  const batch = opts.batch ?? 2;
  const random = new Random(opts.seed ?? 7);
  const step = opts.step ?? 1e-2;
  const maxCoords = opts.maxCoordinates ?? 400;

  const x = opts.input ?? randomAwayFromZero([batch, ...layer.inShape], random);
  for (const p of layer.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = random.normal() * 0.5;
  const n = x.shape[0];
  const r = new Float32Array(n * sizeOf(layer.outShape));
  for (let i = 0; i < r.length; i++) r[i] = random.normal();
  const loss = () => {
    const y = layer.forward(x, true).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };

  const wasNeeded = layer.needsInputGrad;
  layer.needsInputGrad = true;
  layer.forward(x, true);
  const dx = layer.backward({ data: r, shape: [n, ...layer.outShape] });
  layer.needsInputGrad = wasNeeded;

  const results: GradResult[] = [compare('input', dx!.data.slice(), x.data, loss, step, maxCoords)];
  for (const p of layer.params()) results.push(compare(p.name, p.grad.slice(), p.value, loss, step, maxCoords));
  return results;
}

/** Gradient of the fused softmax-cross-entropy loss with respect to the logits. */
export function gradCheckSoftmaxCrossEntropy(opts: GradCheckOptions & { smoothing?: number } = {}): GradResult[] {
  const batch = opts.batch ?? 4;
  const classes = 10;
  const random = new Random(opts.seed ?? 11);
  const logits: Tensor = { data: new Float32Array(batch * classes), shape: [batch, classes] };
  for (let i = 0; i < logits.data.length; i++) logits.data[i] = random.normal() * 3;
  const labels = Array.from({ length: batch }, () => random.int(classes));
  const ce = new SoftmaxCrossEntropy(classes, opts.smoothing ?? 0);
  ce.forward(logits, labels);
  const analytic = ce.backward().data.slice();
  return [compare('logits', analytic, logits.data, () => ce.forward(logits, labels), opts.step ?? 1e-2, opts.maxCoordinates ?? 400)];
}

/**
 * The whole network end to end: cross-entropy on random images and labels, every
 * parameter array of every layer checked. A smaller step is needed here because a
 * nudge can move a ReLU or a pooling window across a kink.
 */
export function gradCheckNetwork(net: Sequential, opts: GradCheckOptions = {}): GradResult[] {
  const batch = opts.batch ?? 3;
  const random = new Random(opts.seed ?? 13);
  const x = randomAwayFromZero([batch, ...net.inputShape], random);
  const classes = net.outputShape[0];
  const labels = Array.from({ length: batch }, () => random.int(classes));
  const ce = new SoftmaxCrossEntropy(classes);
  const loss = () => ce.forward(net.forward(x, true), labels);
  loss();
  net.backward(ce.backward());
  const results: GradResult[] = [];
  net.layers.forEach((layer, i) => {
    for (const p of layer.params()) {
      results.push(compare(`layer ${i + 1} ${layer.type} ${p.name}`, p.grad.slice(), p.value, loss, opts.step ?? 1e-3, opts.maxCoordinates ?? 60, true));
    }
  });
  return results;
}

function compare(
  of: string, analytic: Float32Array, values: Float32Array, loss: () => number, step: number, maxCoords: number,
  skipKinks = false,
): GradResult {
  const stride = Math.max(1, Math.floor(values.length / maxCoords));
  const checked: Array<[analytic: number, numeric: number, oneSidedGap: number]> = [];
  let scale = 0;
  const base = skipKinks ? loss() : 0;
  for (let i = 0; i < values.length; i += stride) {
    const original = values[i];
    values[i] = original + step;
    const up = values[i] - original;
    const lossUp = loss();
    values[i] = original - step;
    const down = original - values[i];
    const lossDown = loss();
    values[i] = original;
    const numeric = (lossUp - lossDown) / (up + down);
    // Where a ReLU or a pooling window changes its mind within the step, the slopes
    // on either side of the point differ: the central difference means nothing there.
    const gap = skipKinks ? Math.abs((lossUp - base) / up - (base - lossDown) / down) : 0;
    checked.push([analytic[i], numeric, gap]);
    scale = Math.max(scale, Math.abs(numeric), Math.abs(analytic[i]));
  }
  loss(); // leave the layer's buffers as they were for the unperturbed input
  // Each coordinate's error relative to its own size, floored at a tenth of the
  // largest, so a gradient that is off by 1% is off by ~1e-2 almost everywhere.
  const floor = 0.1 * scale;
  let error = 0;
  let kinks = 0;
  for (const [a, n, gap] of checked) {
    const size = Math.max(Math.abs(a), Math.abs(n), floor);
    if (size === 0) continue;
    if (gap / size > KINK_GAP) {
      kinks++;
      continue;
    }
    error = Math.max(error, Math.abs(a - n) / size);
  }
  // If most coordinates sit at kinks the check proves nothing: fail it.
  if (kinks > checked.length / 2) error = Infinity;
  return { of, error, coordinates: checked.length - kinks, kinks };
}

/** One-sided slopes further apart than this (relative) mark a kink. */
export const KINK_GAP = 1e-2;

/** Normal values nudged away from 0, so a step never flips a ReLU. */
export function randomAwayFromZero(shape: number[], random: Random): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) {
    const v = random.normal();
    data[i] = v + (v >= 0 ? 0.1 : -0.1);
  }
  return { data, shape };
}

/** Distinct values at least 0.05 apart in random order: no step can change which value of a pooling window is largest. */
export function randomDistinct(shape: number[], seed = 5): Tensor {
  const random = new Random(seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = (i - data.length / 2) * 0.05;
  random.shuffle(data);
  return { data, shape };
}
