/**
 * Whole-batch statistics while threads compute slices of one batch (as PyTorch's
 * SyncBatchNorm): at each batch normalization layer every thread taking part in the step
 * writes its partial sums into shared memory, waits at a barrier until all have, then
 * reads every thread's partials, in thread order, so all of them combine the same numbers
 * in the same order and agree bit for bit (and a seeded run is reproducible).
 *
 * The barrier is a counter and a generation number in the shared control words, moved
 * with Atomics (the main thread may Atomics.wait in Node). Partials alternate between two
 * slots by the generation's parity: a thread can only write the next gather's partial after
 * passing the barrier all others must reach first, so the slot it overwrites is no longer
 * read. Participants are threads 0 … P−1 (slices are cut in thread order; threads without
 * images sit the step out).
 */
import type { BatchReduce } from '../layers/layer.js';
import { Slot } from './thread-protocol.js';

/** How long to sleep between checks that no other thread has failed. */
const WAIT_MS = 1000;

export class ThreadSync implements BatchReduce {
  /** views[parity][thread]: each thread's slot. */
  private readonly views: Float64Array[][];
  /** lists[parity][P]: the first P threads' slots (no array built per call). */
  private readonly lists: Float64Array[][][];

  constructor(private readonly control: Int32Array, moments: Float64Array, private readonly slot: number, private readonly index: number, threads: number) {
    if (moments.length < 2 * threads * slot) throw new RangeError(`ThreadSync: ${moments.length} floats do not hold ${threads} threads × 2 × ${slot}`);
    this.views = [0, 1].map((parity) => Array.from({ length: threads }, (_, t) => moments.subarray((parity * threads + t) * slot, (parity * threads + t + 1) * slot)));
    this.lists = this.views.map((v) => Array.from({ length: threads + 1 }, (_, p) => v.slice(0, p)));
  }

  gather(local: Float64Array, length: number): readonly Float64Array[] {
    if (length > this.slot) throw new RangeError(`ThreadSync: a partial of ${length} floats does not fit a slot of ${this.slot}`);
    const c = this.control;
    const generation = Atomics.load(c, Slot.BarrierGeneration);
    const mine = this.views[generation & 1][this.index];
    for (let i = 0; i < length; i++) mine[i] = local[i];
    const participants = Atomics.load(c, Slot.Participants);
    this.barrier(generation, participants);
    return this.lists[generation & 1][participants];
  }

  private barrier(generation: number, participants: number): void {
    const c = this.control;
    if (Atomics.add(c, Slot.BarrierCount, 1) === participants - 1) {
      Atomics.store(c, Slot.BarrierCount, 0);
      Atomics.add(c, Slot.BarrierGeneration, 1);
      Atomics.notify(c, Slot.BarrierGeneration);
      return;
    }
    while (Atomics.load(c, Slot.BarrierGeneration) === generation) {
      Atomics.wait(c, Slot.BarrierGeneration, generation, WAIT_MS);
      if (Atomics.load(c, Slot.Failed) !== 0) throw new Error('another thread failed, so this batch was abandoned');
    }
  }
}
