import { initHe } from './init.js';
import { Sequential } from './sequential.js';
import { parseArch } from './spec.js';

export { initHe } from './init.js';
export { INPUT_SHAPE, Sequential } from './sequential.js';
export { formatArch, formatLayer, GRAMMAR_HELP, parseArch, PRESETS, type LayerSpec } from './spec.js';

/** Parses an architecture (preset or spec), builds it for 1×28×28 input, He-initialises it. */
export function createNetwork(arch: string, seed = 1): Sequential {
  const net = new Sequential(parseArch(arch), undefined, seed);
  initHe(net, seed);
  return net;
}
