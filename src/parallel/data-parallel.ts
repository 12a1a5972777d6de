import { Worker } from 'node:worker_threads';
import type { Dataset } from '../data/index.js';
import type { Param } from '../layers/layer.js';
import { CLASSES, type InputSpec } from '../net/input.js';
import type { Sequential } from '../net/sequential.js';
import type { LayerSpec } from '../net/spec.js';
import { findWorkerScript } from '../io/worker-url.js';
import { forEachPrediction } from '../batch/evaluate.js';
import type { Affine, Augmenter, AugmentSettings } from '../augment/augment.js';
import { FixedView } from '../augment/tta.js';
import type { GradientStep } from '../batch/step.js';
import { Command, CONTROL_WORDS, FAILURE_BYTES, shareDataset, Slot, type WorkerInit } from './thread-protocol.js';
import { ThreadSync } from './thread-sync.js';

/**
 * Data parallelism over worker threads. Each batch is cut into one slice per thread;
 * the main thread computes slice 0 with its own network while workers compute the
 * others on replicas, then their gradients are added to the main network's (in a
 * fixed order, so a seeded run is reproducible for a given thread count) and the main
 * thread takes the optimizer step. Batch normalization sums its statistics over all
 * threads as it goes (thread-sync.ts), so every slice is normalized by the whole batch's
 * and the result is what one thread computes; the main network's running statistics,
 * updated from those same statistics, are published with the parameters. Parameters,
 * gradients, pixels and the epoch's order live in SharedArrayBuffers; jobs start and
 * finish through Atomics, not messages.
 */
export class DataParallel {
  private constructor(
    private readonly workers: Worker[],
    private readonly control: Int32Array,
    private readonly state: Float32Array,
    private readonly grads: Float32Array[],
    private readonly stats: Float64Array[],
    private readonly slices: Int32Array,
    /** The epoch's order of images: write it here before stepping. */
    readonly order: Int32Array,
    private readonly probs: Float32Array,
    /** The test-time view of the next prediction job (see WorkerInit.view). */
    private readonly view: Float64Array,
    private readonly net: Sequential,
    private readonly netParams: Param[],
    /** The network's parameters then buffers, as published to `state` before every job. */
    private readonly netState: Float32Array[],
    private readonly failure: Uint8Array,
    /** The run's seed, as the workers have it (dropout's masks are keyed by it). */
    private readonly seed: number,
  ) {}

  get threads(): number {
    return this.workers.length + 1;
  }

  static async create(
    threads: number, net: Sequential, specs: LayerSpec[], input: InputSpec, seed: number, data: Dataset,
    maxBatch: number, orderLength = data.n, augment: AugmentSettings | null = null, labelSmoothing = 0, freeze = 0,
  ): Promise<DataParallel> {
    const netParams = net.params();
    const netState = net.state();
    const gradSize = netParams.reduce((a, p) => a + p.value.length, 0);
    const stateSize = netState.reduce((a, v) => a + v.length, 0);
    const f32 = (n: number) => new Float32Array(new SharedArrayBuffer(Math.max(4, n * 4)));
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    const state = f32(stateSize);
    const slices = new Int32Array(new SharedArrayBuffer(threads * 3 * 4));
    const order = new Int32Array(new SharedArrayBuffer(Math.max(4, orderLength * 4)));
    const probs = f32(data.n * CLASSES);
    const momentSlot = net.reduceLength();
    const moments = new Float64Array(new SharedArrayBuffer(Math.max(8, 2 * threads * momentSlot * 8)));
    const failure = new Uint8Array(new SharedArrayBuffer(FAILURE_BYTES));
    const view = new Float64Array(new SharedArrayBuffer(4 * 8)).fill(NaN);
    const shared = shareDataset(data);
    const maxSlice = Math.ceil(maxBatch / threads);
    const grads: Float32Array[] = [];
    const stats: Float64Array[] = [];
    const workers: Worker[] = [];
    const url = findWorkerScript('./worker.js', import.meta.url);
    if (!url) throw new Error('the training worker script (parallel/worker.js) is missing: run npm run build');
    for (let index = 1; index < threads; index++) {
      grads.push(f32(gradSize));
      stats.push(new Float64Array(new SharedArrayBuffer(16)));
      const init: WorkerInit = {
        specs, input, seed, augment, labelSmoothing, freeze, view, index, threads, maxSlice, control, state, grads: grads[index - 1], moments, momentSlot,
        stats: stats[index - 1], slices, data: shared, order, probs, failure,
      };
      const worker = new Worker(url, { workerData: init });
      workers.push(worker);
    }
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('online', resolve);
      w.once('error', reject);
    })));
    if (momentSlot > 0) net.setBatchReduce(new ThreadSync(control, moments, momentSlot, 0, threads));
    return new DataParallel(workers, control, state, grads, stats, slices, order, probs, view, net, netParams, netState, failure, seed);
  }

  /** Runs a job on every worker and waits until all are done. */
  private dispatch(command: Command, mainJob: () => void): void {
    const c = this.control;
    Atomics.store(c, Slot.Done, 0);
    Atomics.store(c, Slot.Command, command);
    Atomics.add(c, Slot.Generation, 1);
    Atomics.notify(c, Slot.Generation);
    let mainError: unknown = null;
    try {
      mainJob();
    } catch (error) {
      // Workers may be waiting for this thread at a barrier: tell them, and wake them.
      mainError = error;
      Atomics.compareExchange(c, Slot.Failed, 0, -1);
      Atomics.notify(c, Slot.BarrierGeneration);
    }
    const want = this.workers.length;
    for (let done = Atomics.load(c, Slot.Done); done < want; done = Atomics.load(c, Slot.Done)) {
      Atomics.wait(c, Slot.Done, done, 10_000);
    }
    const failed = Atomics.load(c, Slot.Failed);
    if (failed > 0) {
      const end = this.failure.indexOf(0);
      const message = new TextDecoder().decode(this.failure.slice(0, end < 0 ? undefined : end));
      throw new Error(`worker thread ${failed} failed: ${message}`);
    }
    if (mainError !== null) throw mainError;
  }

  /** Parameters and buffers (running statistics) to the shared state the workers load. */
  private publishState(): void {
    let o = 0;
    for (const v of this.netState) {
      this.state.set(v, o);
      o += v.length;
    }
  }

  /** Cuts `count` items from `start` into one slice per thread; returns the main thread's. */
  private cut(start: number, count: number): [number, number] {
    const T = this.threads;
    const base = Math.floor(count / T);
    const extra = count % T;
    let at = start + base + (extra > 0 ? 1 : 0);
    for (let w = 1; w < T; w++) {
      const n = base + (w < extra ? 1 : 0);
      this.slices[w * 3] = at;
      this.slices[w * 3 + 1] = n;
      this.slices[w * 3 + 2] = count;
      at += n;
    }
    return [start, base + (extra > 0 ? 1 : 0)];
  }

  /** Augmentation: every worker draws the epoch's transforms. */
  beginEpoch(epoch: number): void {
    this.slices[0] = epoch;
    this.dispatch(Command.Epoch, () => undefined);
  }

  /**
   * Gradient of the mean loss over order[start .. start+count) into the main network's
   * parameter gradients; returns the summed loss and correct count. `step` is the
   * optimizer step, from 0 (dropout's masks are keyed by it).
   */
  step(mainStep: GradientStep, data: Dataset, start: number, count: number, augment: Augmenter | null = null, step = 0): { lossSum: number; correct: number } {
    // Slices drawing dropout masks from another seed than the workers' would not add up to one thread's batch.
    if (mainStep.seed !== this.seed) throw new RangeError(`DataParallel.step: the main thread's step has seed ${mainStep.seed}, the workers ${this.seed}`);
    this.publishState();
    const [s0, n0] = this.cut(start, count);
    Atomics.store(this.control, Slot.Participants, Math.min(this.threads, count));
    Atomics.store(this.control, Slot.Step, step);
    let lossSum = 0;
    let correct = 0;
    this.dispatch(Command.Step, () => {
      const r = mainStep.run(data, this.order, s0, n0, count, augment, step);
      lossSum = r.lossSum;
      correct = r.correct;
    });
    for (let w = 0; w < this.workers.length; w++) {
      const g = this.grads[w];
      let o = 0;
      for (const p of this.netParams) {
        const grad = p.grad;
        for (let i = 0; i < grad.length; i++) grad[i] += g[o + i];
        o += grad.length;
      }
      lossSum += this.stats[w][0];
      correct += this.stats[w][1];
    }
    return { lossSum, correct };
  }

  /**
   * Softmax probabilities of images order[0 .. count), n×10, computed on every thread;
   * of each image seen through `view` when one is given (test-time augmentation).
   */
  predict(net: Sequential, input: InputSpec, data: Dataset, count: number, view: Affine | null = null): Float32Array {
    this.publishState();
    if (view) this.view.set([view.angle, view.scale, view.dx, view.dy]);
    else this.view.fill(NaN);
    const [s0, n0] = this.cut(0, count);
    this.dispatch(Command.Predict, () => {
      forEachPrediction(net, input, data, this.order.subarray(s0, s0 + n0), (s, c, p) => {
        this.probs.set(p.subarray(0, c * CLASSES), (s0 + s) * CLASSES);
      }, undefined, view ? new FixedView(view) : null);
    });
    return this.probs.subarray(0, count * CLASSES);
  }

  async close(): Promise<void> {
    this.net.setBatchReduce(null);
    Atomics.store(this.control, Slot.Command, Command.Exit);
    Atomics.add(this.control, Slot.Generation, 1);
    Atomics.notify(this.control, Slot.Generation);
    await Promise.all(this.workers.map((w) => new Promise((resolve) => (w.threadId < 0 ? resolve(0) : w.once('exit', resolve)))));
  }
}
