import { initHe } from './init.js';
import { Sequential } from './sequential.js';
import { parseArch } from './spec.js';

export { initHe } from './init.js';
export { CLASSES, DEFAULT_INPUT, INPUT_SHAPE, type InputSpec } from './input.js';
export { LIMITS } from './plan.js';
export { planSpecs, Sequential } from './sequential.js';
export { formatArch, formatLayer, GRAMMAR_HELP, parseArch, PRESETS, type LayerSpec, type LayerType } from './spec.js';

/** Parses an architecture (preset or spec), builds it for 1×28×28 input, He-initialises it. */
export function createNetwork(arch: string, seed = 1): Sequential {
  const net = new Sequential(parseArch(arch));
  initHe(net, seed);
  return net;
}
