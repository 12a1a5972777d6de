import { planNetwork } from '../net/plan.js';
import type { Sequential } from '../net/sequential.js';

/**
 * Multiply-adds one thread gets through in the time a prediction worker takes to start
 * (load the modules, compile the kernels, build its replica of the network): measured on
 * the default and wide nets (README, "Predicting"). A job of W multiply-adds
 * gains from a second thread only when W/2 saved outweighs that start, W > 2 × this.
 */
export const MACS_PER_WORKER_START = 4e9;

/**
 * Threads to predict with: one per MACS_PER_WORKER_START of work (multiply-adds per image
 * × images × passes), at least 1 and at most `available`. Small jobs stay on this thread,
 * where no worker has to start; big ones (a wide net, many images) spread out.
 */
export function predictThreads(available: number, macsPerImage: number, images: number, passes = 1): number {
  const work = macsPerImage * images * passes;
  return Math.max(1, Math.min(available, Math.floor(work / MACS_PER_WORKER_START)));
}

/** Multiply-adds per image of a network, as `kconv info` counts them. */
export function macsPerImage(net: Sequential): number {
  return planNetwork(net.specs(), net.inputShape, { impliedFlatten: false }).reduce((sum, p) => sum + p.cost.macs, 0);
}
