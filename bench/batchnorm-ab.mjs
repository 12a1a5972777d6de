/**
 * A/B of the batch-norm layer, forward (training) and backward, on the bn net's shapes:
 * this checkout's dist/ against another build's (`--old DIR`, default /tmp/main-copy/dist;
 * see bench/dropout-ab.mjs for making one). Both load in one process and are measured in
 * alternating rounds (old, new, new, old, …), each the best CPU time per call over a
 * short loop; prints each shape's median ratio new/old with min–max, and the load average.
 *
 *   node bench/batchnorm-ab.mjs [--old DIR] [--rounds 7]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { forwardBackwardAB, spread } from './cpu-time.mjs';
import { median } from './stats.mjs';

const { values } = parseArgs({ options: { old: { type: 'string', default: '/tmp/main-copy/dist' }, rounds: { type: 'string', default: '7' } } });
const rounds = +values.rounds;
async function side(dist) {
  const { BatchNorm } = await import(resolve(dist, 'layers/batchnorm.js'));
  const { allocF32 } = await import(resolve(dist, 'kernels/memory.js'));
  return { BatchNorm, allocF32 };
}

/** [shape, batch, name]: the bn net's batch norms after its four convs (and its dense layer). */
const SHAPES = [
  [[32, 28, 28], 64, 'after conv1/conv2, 32×28×28, batch 64'],
  [[64, 14, 14], 64, 'after conv3/conv4, 64×14×14, batch 64'],
  [[32, 28, 28], 32, 'after conv1/conv2, 32×28×28, batch 32'],
  [[128], 64, 'after dense128, batch 64'],
];

function setup({ BatchNorm, allocF32 }, shape, n) {
  const size = shape.reduce((a, b) => a * b, 1);
  const bn = new BatchNorm(shape);
  const x = { data: allocF32(n * size), shape: [n, ...shape] };
  const dy = { data: allocF32(n * size), shape: [n, ...shape] };
  for (let i = 0; i < n * size; i++) {
    x.data[i] = 3 + 2 * Math.sin(i * 0.37);
    dy.data[i] = Math.cos(i * 0.11);
  }
  return { forward: () => bn.forward(x, true), backward: () => bn.backward(dy) };
}

const sides = { old: await side(values.old), new: await side(resolve(import.meta.dirname, '../dist')) };
const { results, loads } = forwardBackwardAB(rounds, SHAPES, (s, [shape, n]) => setup(sides[s], shape, n), 80);
console.log(`batch norm A/B, ${rounds} alternating rounds, time new/old, median (min–max); old = ${values.old}`);
SHAPES.forEach(([, , name], k) => {
  const r = results[k];
  console.log(`${name}: forward ${spread(r.f)}, backward ${spread(r.b)} [old ${median(r.ms.old.fb).toFixed(3)} ms, new ${median(r.ms.new.fb).toFixed(3)} ms forward + backward]`);
});
console.log(`load average (1, 5, 15 min) per round: ${loads.join(' | ')}`);
