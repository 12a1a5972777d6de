/**
 * A/B of the dropout layer, forward (mask drawn and applied) and backward, on the wide and
 * bn nets' shapes: this checkout's dist/ against another build's (`--old DIR`, default
 * /tmp/main-copy/dist: `git -C <main> archive HEAD | tar -x -C /tmp/main-copy`, then
 * `npm run build` there). Both load in one process and are measured in alternating rounds
 * (old, new, new, old, …), each the best CPU time per call over a short loop; prints each
 * shape's median ratio new/old with its min–max over rounds, and the load average.
 *
 *   node bench/dropout-ab.mjs [--old DIR] [--rounds 7]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { forwardBackwardAB, spread } from './cpu-time.mjs';
import { median } from './stats.mjs';

const { values } = parseArgs({ options: { old: { type: 'string', default: '/tmp/main-copy/dist' }, rounds: { type: 'string', default: '7' } } });
const rounds = +values.rounds;
async function side(dist) {
  const { Dropout } = await import(resolve(dist, 'layers/dropout.js'));
  const { BatchContext } = await import(resolve(dist, 'layers/batch-context.js'));
  const { allocF32 } = await import(resolve(dist, 'kernels/memory.js'));
  return { Dropout, BatchContext, allocF32 };
}

/** [shape per image, batch, name]: the wide/bn nets' two dropouts, whole batch and a 2-thread slice. */
const SHAPES = [
  [[64, 7, 7], 64, 'after pool2, 64×7×7, batch 64'],
  [[64, 7, 7], 32, 'after pool2, 64×7×7, batch 32'],
  [[128], 64, 'after dense128, batch 64'],
];

function setup({ Dropout, BatchContext, allocF32 }, inShape, n) {
  const per = inShape.reduce((a, b) => a * b, 1);
  const batch = new BatchContext();
  const rows = Int32Array.from({ length: 4096 }, (_, i) => (i * 7919) % 60000);
  const layer = new Dropout(inShape, 0.3, batch, 11);
  const x = { data: allocF32(n * per), shape: [n, ...inShape] };
  const dy = { data: allocF32(n * per), shape: [n, ...inShape] };
  for (let i = 0; i < n * per; i++) {
    x.data[i] = Math.sin(i);
    dy.data[i] = Math.cos(i);
  }
  let step = 0;
  return {
    forward: () => {
      batch.set(1, step++, rows, (step * n) % 2048);
      layer.forward(x, true);
    },
    backward: () => layer.backward(dy),
  };
}

const sides = { old: await side(values.old), new: await side(resolve(import.meta.dirname, '../dist')) };
const { results, loads } = forwardBackwardAB(rounds, SHAPES, (s, [shape, n]) => setup(sides[s], shape, n), 60);
console.log(`dropout A/B, ${rounds} alternating rounds, time new/old, median (min–max); old = ${values.old}`);
SHAPES.forEach(([, , name], k) => {
  const r = results[k];
  console.log(`${name}: forward ${spread(r.f)} [old ${median(r.ms.old.f).toFixed(3)} ms, new ${median(r.ms.new.f).toFixed(3)} ms], backward ${spread(r.b)}`);
});
console.log(`load average (1, 5, 15 min) per round: ${loads.join(' | ')}`);
