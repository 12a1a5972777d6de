import { planNetwork } from '../net/plan.js';
import type { Sequential } from '../net/sequential.js';

/**
 * Multiply-adds one thread gets through in the time a prediction worker takes to start
 * (load the modules, compile the kernels, build its replica, allocate its batch buffers):
 * about 0.4 s of the wide net at ~1,500 images/s of 18.7 million (README, "kconv predict").
 * A job of W multiply-adds gains from a second thread only when the W/2 it moves outweighs
 * that start, W > 2 × this: the wide net from ~1,300 images, the default net (whose
 * multiply-adds go 2.5× slower, so its break-even is ~25,000 images) from ~75,000.
 */
export const MACS_PER_WORKER_START = 12e9;

/**
 * Threads to predict with: one per MACS_PER_WORKER_START of work (multiply-adds per image
 * × images × passes), at least 1 and at most `available`. Small jobs stay on this thread,
 * where no worker has to start; big ones (a wide net, many images) spread out. The rule
 * cannot see other processes: on a machine with no free core, --threads 1.
 */
export function predictThreads(available: number, macsPerImage: number, images: number, passes = 1): number {
  const work = macsPerImage * images * passes;
  return Math.max(1, Math.min(available, Math.floor(work / MACS_PER_WORKER_START)));
}

/** Multiply-adds per image of a network, as `kconv info` counts them. */
export function macsPerImage(net: Sequential): number {
  return planNetwork(net.specs(), net.inputShape, { impliedFlatten: false }).reduce((sum, p) => sum + p.cost.macs, 0);
}
