/**
 * A data-parallel worker thread: a replica of the network that computes gradients (or
 * predictions) for its slice of each batch. It sleeps on Atomics.wait between jobs, so
 * a job costs microseconds to start, not a postMessage round trip.
 */
import { workerData } from 'node:worker_threads';
import { Sequential } from '../net/sequential.js';
import { Augmenter } from '../augment/augment.js';
import { FixedView } from '../augment/tta.js';
import { forEachPrediction } from '../batch/evaluate.js';
import { CLASSES } from '../net/input.js';
import { GradientStep } from '../batch/step.js';
import { asDataset, Command, FAILURE_BYTES, Slot, type WorkerInit } from './thread-protocol.js';
import { ThreadSync } from './thread-sync.js';

const init = workerData as WorkerInit;
const net = new Sequential(init.specs, [init.input.channels, init.input.height, init.input.width]);
// Frozen as the main thread's network is: the same layers run as when predicting (and sum no batch statistics).
if (init.freeze > 0) net.freeze(init.freeze);
if (init.momentSlot > 0) net.setBatchReduce(new ThreadSync(init.control, init.moments, init.momentSlot, init.index, init.threads));
const params = net.params();
const state = net.state();
const data = asDataset(init.data);
const step = new GradientStep(net, init.input, init.maxSlice, init.labelSmoothing, init.seed);
const { control, slices, stats } = init;
const augment = init.augment ? new Augmenter(init.augment, init.seed) : null;

/** Parameters and running statistics as the main thread published them. */
function loadState(): void {
  let o = 0;
  for (const v of state) {
    v.set(init.state.subarray(o, o + v.length));
    o += v.length;
  }
}

/** The prediction job's test-time view, as the main thread wrote it. */
function viewOf(v: Float64Array): FixedView | null {
  return Number.isNaN(v[0]) ? null : new FixedView({ angle: v[0], scale: v[1], dx: v[2], dy: v[3] });
}

let generation = 0;
for (;;) {
  Atomics.wait(control, Slot.Generation, generation);
  generation = Atomics.load(control, Slot.Generation);
  const command = Atomics.load(control, Slot.Command);
  if (command === Command.Exit) break;
  try {
    const start = slices[init.index * 3];
    const count = slices[init.index * 3 + 1];
    const batchCount = slices[init.index * 3 + 2];
    if (command === Command.Step) {
      stats[0] = 0;
      stats[1] = 0;
      if (count > 0) {
        loadState();
        const r = step.run(data, init.order, start, count, batchCount, augment, Atomics.load(control, Slot.Step));
        stats[0] = r.lossSum;
        stats[1] = r.correct;
        let o = 0;
        for (const p of params) {
          init.grads.set(p.grad, o);
          o += p.grad.length;
        }
      } else {
        init.grads.fill(0);
      }
    } else if (command === Command.Predict) {
      if (count > 0) {
        loadState();
        forEachPrediction(net, init.input, data, init.order.subarray(start, start + count), (s, c, probs) => {
          init.probs.set(probs.subarray(0, c * CLASSES), (start + s) * CLASSES);
        }, undefined, viewOf(init.view));
      }
    } else if (command === Command.Epoch) {
      if (augment) augment.epoch = slices[0];
    }
  } catch (error) {
    // The main thread is blocked in Atomics.wait and cannot see events: leave a note (the
    // first failure's; threads released from a barrier by it fail after it).
    if (Atomics.compareExchange(control, Slot.Failed, 0, init.index) === 0) {
      const text = new TextEncoder().encode(String((error as Error)?.stack ?? error)).subarray(0, FAILURE_BYTES - 1);
      init.failure.fill(0);
      init.failure.set(text);
      Atomics.notify(control, Slot.BarrierGeneration);
    }
  }
  Atomics.add(control, Slot.Done, 1);
  Atomics.notify(control, Slot.Done);
}
