/**
 * A/B of one training step's compute (forward, loss, backward; no optimizer, no threads)
 * of the preset nets at batch 64 on random images: this checkout's dist/ against another
 * build's (`--old DIR`, default /tmp/main-copy/dist; see bench/dropout-ab.mjs). Both load
 * in one process and run in alternating rounds (old, new, new, old, …), each the best CPU
 * time per step over a short loop, so time other processes take on a shared machine does
 * not count (bench/train-ab.mjs measures whole training runs, wall clock). Prints per net
 * the median ratio new/old with its min–max over rounds, and the load average.
 *
 *   node bench/step-ab.mjs [--old DIR] [--nets wide,bn] [--rounds 7] [--batch 64]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bestCpuMs, loadAverage } from './cpu-time.mjs';
import { median } from './stats.mjs';

const { values } = parseArgs({
  options: {
    old: { type: 'string', default: '/tmp/main-copy/dist' }, nets: { type: 'string', default: 'default,wide,bn' },
    rounds: { type: 'string', default: '7' }, batch: { type: 'string', default: '64' },
  },
});
const rounds = +values.rounds, n = +values.batch;
const nets = values.nets.split(',');
const load = loadAverage;

async function side(dist) {
  const { createNetwork, initHe } = await import(resolve(dist, 'net/index.js'));
  const { SoftmaxCrossEntropy } = await import(resolve(dist, 'layers/softmax-cross-entropy.js'));
  const { allocF32 } = await import(resolve(dist, 'kernels/memory.js'));
  return { createNetwork, initHe, SoftmaxCrossEntropy, allocF32 };
}

const time = (fn, minMs = 300) => bestCpuMs(fn, minMs);

/** One side's net, built once (kernel memory is never freed), and its step. */
function setup({ createNetwork, initHe, SoftmaxCrossEntropy, allocF32 }, arch) {
  const net = createNetwork(arch);
  initHe(net, 1);
  const ce = new SoftmaxCrossEntropy(10);
  const x = { data: allocF32(n * 784), shape: [n, ...net.inputShape] };
  let s = 7;
  for (let i = 0; i < x.data.length; i++) x.data[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24) / 255;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let step = 0;
  return () => {
    net.batch.set(1, step++, order, 0);
    const logits = net.forward(x, true);
    ce.forward(logits, labels, { correct: 0 });
    net.backward(ce.backward());
  };
}

const libs = { old: await side(values.old), new: await side(resolve(import.meta.dirname, '../dist')) };
const steps = Object.fromEntries(nets.map((net) => [net, { old: setup(libs.old, net), new: setup(libs.new, net) }]));
const results = Object.fromEntries(nets.map((net) => [net, { ratio: [], old: [], new: [] }]));
const loads = [load()];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
  for (const net of nets) {
    const t = {};
    for (const s of order) t[s] = time(steps[net][s]);
    results[net].old.push(t.old);
    results[net].new.push(t.new);
    results[net].ratio.push(t.new / t.old);
  }
  loads.push(load());
}
const fmt = (r) => `${median(r).toFixed(3)} (${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)})`;
console.log(`training step A/B, batch ${n}, 1 thread, ${rounds} alternating rounds, CPU time new/old, median (min–max); old = ${values.old}`);
for (const net of nets) {
  const r = results[net];
  console.log(`${net}: ${fmt(r.ratio)} [old ${median(r.old).toFixed(2)} ms, new ${median(r.new).toFixed(2)} ms a step]`);
}
console.log(`load average (1, 5, 15 min) per round: ${loads.join(' | ')}`);
