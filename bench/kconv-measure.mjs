/**
 * One kconv measurement of bench/bench.js, in a process of its own: train a net (the fastest
 * epoch after the first), then predict with it (the fastest of 2 passes after a warm-up one).
 * A fresh process each time because kconv's arena of kernel memory only grows (a net's buffers
 * live as long as the process): twelve nets in one process would run it out.
 *
 *   node bench/kconv-measure.mjs '{"dataDir": …, "net": "wide", "epochs": 3, "limit": 2000,
 *                                  "threads": 2, "predictImages": 2560, "out": "model.json"}'
 *
 * Prints one JSON line: { train: { rate, load_before, load_after }, predict: { … } }.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readDataset } from '../dist/data/index.js';
import { loadModel } from '../dist/model/weights-file.js';
import { predict } from '../dist/predict/predict.js';
import { train } from '../dist/train/trainer.js';

const job = JSON.parse(process.argv[2]);
const { images: trainSet } = await readDataset(join(job.dataDir, 'train.csv'), { requireLabels: true });
const dig = (await readDataset(join(job.dataDir, 'Dig-MNIST.csv'))).images;
const n = Math.min(job.predictImages ?? dig.n, dig.n);
const predictSet = { n, pixels: dig.pixels.subarray(0, n * 784), labels: dig.labels?.subarray(0, n) ?? null, ids: null };

async function timed(run) {
  const load_before = loadavg()[0];
  const rate = await run();
  return { rate, load_before, load_after: loadavg()[0] };
}

const result = {};
result.train = await timed(async () => {
  const r = await train(trainSet, null, {
    arch: job.net, epochs: job.epochs, batchSize: 64, optimizer: 'momentum', lr: 0.05, schedule: 'constant', weightDecay: 0, seed: 1,
    validation: { kind: 'none' }, limit: job.limit, out: job.out, saveBest: false, optimizerState: false, threads: job.threads, augment: false,
  });
  return Math.min(job.limit ?? trainSet.n, trainSet.n) / Math.min(...r.history.slice(1).map((h) => h.seconds));
});
result.predict = await timed(async () => {
  // predict() as a user calls it: worker start-up included.
  const model = await loadModel(job.out);
  await predict(model, predictSet, job.threads);
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const t = performance.now();
    await predict(model, predictSet, job.threads);
    best = Math.min(best, performance.now() - t);
  }
  return predictSet.n / (best / 1000);
});
console.log(JSON.stringify(result));
