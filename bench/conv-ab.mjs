/**
 * A/B of the wide net's Winograd conv layers (bench/conv-layers.mjs's shapes), forward and
 * backward: this checkout's dist/ against another build's (`--old DIR`, default
 * /tmp/main-copy/dist; see bench/dropout-ab.mjs for making one). Both load in one process
 * and are measured in alternating rounds (old, new, new, old, …), each the best CPU time
 * per call over a short loop; prints each layer's median ratio new/old with its min–max
 * over rounds, and the load average.
 *
 *   node bench/conv-ab.mjs [--old DIR] [--rounds 7] [--batch 32,64]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { forwardBackwardAB, spread } from './cpu-time.mjs';
import { median } from './stats.mjs';

const { values } = parseArgs({
  options: { old: { type: 'string', default: '/tmp/main-copy/dist' }, rounds: { type: 'string', default: '7' }, batch: { type: 'string', default: '32,64' } },
});
const rounds = +values.rounds;
const batches = values.batch.split(',').map(Number);
async function side(dist) {
  const { Conv2d } = await import(resolve(dist, 'layers/conv2d.js'));
  const { allocF32 } = await import(resolve(dist, 'kernels/memory.js'));
  return { Conv2d, allocF32 };
}

/** [C, H, W, F]: the wide (and bn) net's Winograd layers, 3×3 padding 1. */
const LAYERS = [[32, 28, 28, 32, 'conv2 32→32, 28×28'], [32, 14, 14, 64, 'conv3 32→64, 14×14'], [64, 14, 14, 64, 'conv4 64→64, 14×14']];

function setup({ Conv2d, allocF32 }, [C, H, W, F], n) {
  const conv = new Conv2d([C, H, W], { inChannels: C, outChannels: F, kernel: 3, stride: 1, padding: 1 });
  conv.algorithm = 'winograd4';
  let s = 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  for (let i = 0; i < conv.weight.length; i++) conv.weight[i] = rand() * 0.2;
  const x = { data: allocF32(n * C * H * W), shape: [n, C, H, W] };
  for (let i = 0; i < x.data.length; i++) x.data[i] = rand();
  const y = conv.forward(x, true);
  const dy = { data: allocF32(y.data.length), shape: y.shape };
  for (let i = 0; i < dy.data.length; i++) dy.data[i] = rand();
  return { forward: () => conv.forward(x, true), backward: () => conv.backward(dy) };
}

const sides = { old: await side(values.old), new: await side(resolve(import.meta.dirname, '../dist')) };
const cases = batches.flatMap((n) => LAYERS.map((layer) => ({ n, layer })));
const { results, loads } = forwardBackwardAB(rounds, cases, (s, c) => setup(sides[s], c.layer, c.n), 80);
console.log(`Winograd conv layers A/B, ${rounds} alternating rounds, time new/old, median (min–max); old = ${values.old}`);
cases.forEach((c, k) => {
  const r = results[k];
  console.log(`${c.layer[4]}, batch ${c.n}: forward ${spread(r.f)}, backward ${spread(r.b)}, both ${spread(r.fb)} [old ${median(r.ms.old.fb).toFixed(2)} ms, new ${median(r.ms.new.fb).toFixed(2)} ms]`);
});
console.log(`load average (1, 5, 15 min) per round: ${loads.join(' | ')}`);
