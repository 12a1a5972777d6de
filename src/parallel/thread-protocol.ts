import type { Dataset } from '../data/index.js';
import type { InputSpec } from '../net/input.js';
import type { LayerSpec } from '../net/spec.js';
import type { AugmentSettings } from '../augment/augment.js';

/** What every worker is given once, at start-up. All arrays are views of SharedArrayBuffers. */
export interface WorkerInit {
  specs: LayerSpec[];
  input: InputSpec;
  seed: number;
  /** How training images are augmented, or null (the worker draws the same transforms the main thread would). */
  augment: AugmentSettings | null;
  /** The loss's label smoothing ε. */
  labelSmoothing: number;
  /** Layers with parameters kept fixed (fine-tuning; Sequential.freeze), 0 for none. */
  freeze: number;
  /** The test-time view of prediction jobs: [angle, scale, dx, dy], or NaNs for the image itself. */
  view: Float64Array;
  /** This worker's number, 1.. (the main thread is 0). */
  index: number;
  /** Threads in all, the main thread included. */
  threads: number;
  maxSlice: number;
  control: Int32Array;
  /** The network's state as the main thread last published it: every parameter, then every buffer (running statistics). */
  state: Float32Array;
  /** This worker's gradient slot: every parameter's gradient, in order. */
  grads: Float32Array;
  /** Partial statistics of layers that normalize by the whole batch (see thread-sync.ts); `momentSlot` floats per thread and parity. */
  moments: Float64Array;
  momentSlot: number;
  /** This worker's [lossSum, correct]. */
  stats: Float64Array;
  /** Per worker: [start, count, batchCount] of its current slice. */
  slices: Int32Array;
  data: SharedDataset;
  order: Int32Array;
  /** n×10 probabilities written by prediction jobs. */
  probs: Float32Array;
  /** A failed worker's error message, zero-terminated. */
  failure: Uint8Array;
}

/** A dataset whose pixels and labels live in shared memory, readable by every worker. */
export interface SharedDataset {
  n: number;
  pixels: Uint8Array;
  labels: Uint8Array | null;
}

/** The Int32 slots of `control`. */
export enum Slot {
  /** Bumped by the main thread to start a job. */
  Generation = 0,
  /** Workers count themselves done here. */
  Done = 1,
  /** What the job is: a Command. */
  Command = 2,
  /** The first thread that threw sets this: a worker its index, the main thread −1. */
  Failed = 3,
  /** Threads taking part in the current step (those with images), for the barrier. */
  Participants = 4,
  /** The barrier: threads arrived, and the number of times it opened. */
  BarrierCount = 5,
  BarrierGeneration = 6,
  /** The optimizer step of the current Step job (dropout's masks are keyed by it). */
  Step = 7,
}
export const CONTROL_WORDS = 8;

/** What a job is (the value in Slot.Command). */
export enum Command {
  Step = 1,
  Predict = 2,
  Exit = 3,
  /** Set augmentation's epoch: slices[0] carries it. */
  Epoch = 4,
}
/** Bytes of `failure`, where a failed worker leaves its error message (UTF-8). */
export const FAILURE_BYTES = 1024;

export function sharedCopy<T extends Uint8Array | Int32Array | Float32Array | Float64Array>(
  make: (buffer: SharedArrayBuffer) => T, source: ArrayLike<number> | null, bytes: number,
): T {
  const out = make(new SharedArrayBuffer(bytes));
  if (source) (out as unknown as { set(a: ArrayLike<number>): void }).set(source);
  return out;
}

export function shareDataset(data: Dataset): SharedDataset {
  return {
    n: data.n,
    pixels: sharedCopy((b) => new Uint8Array(b), data.pixels, data.pixels.length),
    labels: data.labels ? sharedCopy((b) => new Uint8Array(b), data.labels, data.labels.length) : null,
  };
}

/** The shared arrays as the images the batch code reads (the dataset is images alone: nothing to fake). */
export function asDataset(d: SharedDataset): Dataset {
  return { n: d.n, pixels: d.pixels, labels: d.labels, ids: null };
}
