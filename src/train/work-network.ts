/**
 * Networks to work on copies of a model in: fine-tuning trains a copy of the model it
 * starts from and measures others, again and again in a long-running server. Kernel
 * memory is never freed (kernels/memory.ts) and a network's buffers grow to the largest
 * batch it has seen (an evaluation batch of the wide net is ~200 MB), so a new network
 * per run would exhaust the arena after a few fine-tunes. These are kept per layer stack
 * and lent out again: memory is bounded by the most networks of one stack in use at once.
 */
import { Sequential } from '../net/sequential.js';

const idle = new Map<string, Sequential[]>();

const keyOf = (net: Sequential) => JSON.stringify([net.inputShape, net.specs()]);

/**
 * A network with the layers of `model` holding its weights and running statistics,
 * nothing frozen, gradients zero; give it back with `giveBack` when done.
 */
export function borrowNetwork(model: Sequential): Sequential {
  const net = idle.get(keyOf(model))?.pop() ?? new Sequential(model.specs(), model.inputShape);
  net.freeze(0);
  net.setBatchReduce(null);
  const to = net.state();
  model.state().forEach((v, k) => to[k].set(v));
  for (const p of net.params()) p.grad.fill(0);
  return net;
}

/** Returns a borrowed network for the next run (it must no longer be used). */
export function giveBack(net: Sequential): void {
  const key = keyOf(net);
  const list = idle.get(key) ?? [];
  if (!list.includes(net)) list.push(net);
  idle.set(key, list);
}

/** `use` on a borrowed copy of `model`, given back afterwards. */
export function withCopy<T>(model: Sequential, use: (net: Sequential) => T): T {
  const net = borrowNetwork(model);
  try {
    return use(net);
  } finally {
    giveBack(net);
  }
}
